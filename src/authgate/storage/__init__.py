"""Storage: SQLAlchemy models, the database handle, and Alembic migrations."""

from authgate.storage.database import Database, DatabaseUnavailable

__all__ = ["Database", "DatabaseUnavailable"]
