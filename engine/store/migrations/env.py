"""Alembic environment of the state store.

The store runs migrations itself when it opens (`engine.store.database.Database.migrate`),
passing its connection in `config.attributes["connection"]`; there is no alembic.ini. To write
a new revision, change `engine/store/models.py`, then generate and review it:

    from alembic import command
    from engine.store.database import Database, alembic_config, resolve_url
    db = Database(resolve_url("sqlite:////tmp/dev.db", Path(".")))
    db.migrate()
    with db.begin() as connection:
        command.revision(alembic_config(connection), message="...", autogenerate=True,
                         rev_id="0002")

and rename the file to `v0002_<slug>.py`. `tests/engine/store/test_store_migrations.py` fails
until models and revisions agree on both backends.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from engine.store.models import metadata


def run_migrations() -> None:
    """Run the pending revisions through the connection the store handed over."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("the state store migrations run through engine.store.database (no connection was given)")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
