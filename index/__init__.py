"""Knowledge → searchable index: extract, clean, chunk, embed, store, search."""
