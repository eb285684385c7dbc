"""Alembic revisions of the state store, oldest first (`v<number>_<slug>.py`)."""
