"""notes and search: Markdown notes on any entity, mentions; the full-text search index

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 11:00:00

The full-text index is dialect-specific and lives only here (not in the models):

- SQLite: an FTS5 table ``search_fts(title, tags, body)`` with ``search_docs`` as its
  external content, kept in sync by triggers on ``search_docs``; porter stemming over
  unicode61 tokens (diacritics folded), prefix indexes for 2 and 3 characters.
- PostgreSQL: ``search_docs.tsv``, a stored generated tsvector (title weight A, tags B,
  body D, 'english' configuration) with a GIN index.

The documents themselves are built by the application (``labcycle search reindex``, or
lazily on the first search of a store whose index was never built).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_INT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, tags, body, content='search_docs', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN "
    "INSERT INTO search_fts(rowid, title, tags, body) VALUES (new.id, new.title, new.tags, new.body); END",
    "CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, tags, body) "
    "VALUES ('delete', old.id, old.title, old.tags, old.body); END",
    "CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, tags, body) "
    "VALUES ('delete', old.id, old.title, old.tags, old.body); "
    "INSERT INTO search_fts(rowid, title, tags, body) VALUES (new.id, new.title, new.tags, new.body); END",
]

_PG_TSV = [
    "ALTER TABLE search_docs ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(tags, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'D')) STORED",
    "CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)",
]


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=True),
        sa.Column("parent_id", sa.String(length=32), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("anchor", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["notes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index("ix_notes_entity", ["entity_type", "entity_id", "created_at"])
        batch_op.create_index(batch_op.f("ix_notes_project_id"), ["project_id"])
        batch_op.create_index(batch_op.f("ix_notes_parent_id"), ["parent_id"])
        batch_op.create_index(batch_op.f("ix_notes_created_by"), ["created_by"])
    op.create_table(
        "note_mentions",
        sa.Column("note_id", sa.String(length=32), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["note_id"], ["notes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("note_id", "user"),
    )
    with op.batch_alter_table("note_mentions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_mentions_user"), ["user"])
    op.create_table(
        "search_docs",
        sa.Column("id", _INT_ID, nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entity_type", "entity_id"),
    )
    with op.batch_alter_table("search_docs", schema=None) as batch_op:
        batch_op.create_index("ix_search_docs_type_updated", ["entity_type", "updated_at"])
        batch_op.create_index(batch_op.f("ix_search_docs_project_id"), ["project_id"])
        batch_op.create_index(batch_op.f("ix_search_docs_owner"), ["owner"])
        batch_op.create_index(batch_op.f("ix_search_docs_updated_at"), ["updated_at"])
    op.create_table(
        "search_doc_tags",
        sa.Column("doc_id", _INT_ID, nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.String(length=250), nullable=False),
        sa.ForeignKeyConstraint(["doc_id"], ["search_docs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("doc_id", "key"),
    )
    with op.batch_alter_table("search_doc_tags", schema=None) as batch_op:
        batch_op.create_index("ix_search_doc_tags_key_value", ["key", "value"])
    op.create_table(
        "search_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    statements = _SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else _PG_TSV
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("search_docs_ai", "search_docs_ad", "search_docs_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_state")
    op.drop_table("search_doc_tags")
    op.drop_table("search_docs")
    op.drop_table("note_mentions")
    op.drop_table("notes")
