"""Setup errors of the shared database, with no dependencies, so bot/ and index/ can both raise and catch them."""
from __future__ import annotations


class DatabaseSetupError(RuntimeError):
    """CCHC_DATABASE_URL is wrong or the database is not migrated; the message is Vietnamese, for the operator."""


class SchemaBehind(DatabaseSetupError):
    """The database has not been migrated to this code's schema; the message is Vietnamese, for the operator."""
