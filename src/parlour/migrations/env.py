"""Alembic environment: runs on the connection `parlour migrate` hands it."""

from __future__ import annotations

from alembic import context

from parlour.core.db import Base
from parlour.models import *  # noqa: F403  (registers every table on Base.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `parlour migrate`, which provides the connection.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
