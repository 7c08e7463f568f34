"""One file per schema change, oldest first (`down_revision` chains them)."""
