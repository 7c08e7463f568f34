"""Shared state of many workers in PostgreSQL (`CCHC_DATABASE_URL`): engine, schema, migrations, SqlStore.

A top-level layer, not part of the bot, because both index/ (the live index pointer, state/pointer.py) and bot/
(question log, deliveries, chat memory, tokens, console accounts) keep their shared state here. The pieces index/
uses (engine, errors, migrate, pointer, schema) import nothing from bot/; the bot-facing stores may.

One machine keeps using SQLite in the data dir (bot/store.py). With a database URL every worker of a province
(`cchc telegram|zalo|messenger` webhooks, `cchc console`) reads and writes the same tables, so any worker may
receive any delivery. The schema is changed only by Alembic migrations shipped in this package
(`cchc db upgrade`); a store refuses to start on a database that is behind.
"""
