"""Alembic migrations of the state store (run by `engine.store.database.Database.migrate`)."""
