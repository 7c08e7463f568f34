"""Alembic migrations of the shared database (applied by `cchc db upgrade`; see state/migrate.py)."""
