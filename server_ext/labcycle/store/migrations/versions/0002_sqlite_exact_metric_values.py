"""SQLite: keep the sign of -0.0 in metric values

SQLite gives FLOAT columns REAL affinity and stores an integral REAL such as -0.0 as the
integer 0, so a logged -0.0 read back as 0.0. A column declared BLOB has no affinity and
keeps the double as it is (see ``models.SQLiteExactFloat``). PostgreSQL is unaffected.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("metrics", "latest_metrics")


def _retype(type_: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        # SQLite cannot change a column's type in place, so batch mode copies the table.
        # The new type is given as the reflected one, not with alter_column(type_=...):
        # that would copy CAST(value AS BLOB), the number's text, instead of the number.
        with op.batch_alter_table(
            table, recreate="always", reflect_args=(sa.Column("value", type_, nullable=True),)
        ):
            pass


def upgrade() -> None:
    _retype(sa.BLOB())


def downgrade() -> None:
    _retype(sa.Float(precision=53))
