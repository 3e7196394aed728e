"""Alembic environment: runs on the connection cablegate.db hands over.

Migrations are applied by ``cablegate.db.upgrade`` (on first use and by
``cablegate db upgrade``), which passes its open connection in
``config.attributes["connection"]``; running ``alembic`` by hand is not needed.
"""

from __future__ import annotations

from alembic import context

from cablegate.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via cablegate.db
    raise RuntimeError("run migrations with `cablegate db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
