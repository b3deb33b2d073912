"""Alembic environment: LabCycle always hands over an open connection."""

from alembic import context

from labcycle.store.models import Base, include_in_autogenerate

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_in_autogenerate,  # the full-text index of 0009
)
with context.begin_transaction():
    context.run_migrations()
