"""deployments: the versions their deployer trusted (pickle, joblib, python flavors)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:10:00

A version logged with ``trusted=True`` records its author's decision; serving it needs the
deployer's own. ``trusted_versions`` lists the ids of the versions the deployer trusted
(null: none), and a serving process loads a version that needs trust only when it is there.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("trusted_versions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("trusted_versions")
