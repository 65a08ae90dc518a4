"""full-text search over messages: an FTS5 index on SQLite, a tsvector column + GIN on PostgreSQL

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

Only what people (and bots) write is indexed: every message kind but `system` (joins, leaves,
endings and observations are written by Parlour and may name staff a customer should not find
by searching). The database keeps the index in step with `messages` by itself, so no write path
has to remember it: triggers on SQLite, a generated column on PostgreSQL. docs/search.md says
why each choice was made.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The names parlour.search.repository queries (a migration never imports the app).
FTS_TABLE = "messages_fts"
TSV_COLUMN = "search_vector"
TSV_INDEX = "ix_messages_search_vector"

# SQLite: an external-content FTS5 table (the text stays in `messages`, the index holds only
# tokens) keyed by the messages' rowid. The tenant id is indexed too (one token: ids are hex), and
# every tenant-wide search ANDs it into its MATCH, so FTS5 walks only the caller's tenant's
# matches, never a word's matches in every tenant (a cost, and a timing oracle, across tenants).
# unicode61 folds case but keeps accents, and splits on
# every character that is not a letter or a digit, like the PostgreSQL column below, so a
# query finds the same messages on both backends. Prefix indexes make `word*` cheap.
_SQLITE_TABLE = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(body, tenant_id, content='messages', "
    "content_rowid='rowid', tokenize='unicode61 remove_diacritics 0', prefix='2 3')"
)
# An external-content index must be told the exact old text of a row it drops; the conditions
# match the ones the row was indexed under, so the index never holds what `messages` does not.
_SQLITE_TRIGGERS = (
    f"CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON messages WHEN new.kind <> 'system' "
    f"BEGIN INSERT INTO {FTS_TABLE}(rowid, body, tenant_id) "
    "VALUES (new.rowid, new.body, new.tenant_id); END",
    f"CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON messages WHEN old.kind <> 'system' "
    f"BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body, tenant_id) "
    "VALUES ('delete', old.rowid, old.body, old.tenant_id); END",
    # One trigger for both halves of an edit, so the old entry always leaves before the new one
    # arrives (two triggers would fire in an order SQLite does not promise).
    f"CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF body, kind ON messages BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body, tenant_id) "
    "SELECT 'delete', old.rowid, old.body, old.tenant_id WHERE old.kind <> 'system'; "
    f"INSERT INTO {FTS_TABLE}(rowid, body, tenant_id) SELECT new.rowid, new.body, new.tenant_id "
    "WHERE new.kind <> 'system'; END",
)

# PostgreSQL: a stored generated column, so every insert and update computes it and nothing
# else can forget to. 'simple' (lower-casing, no stemming, no stop words) because a tenant's
# conversations come in any language, often several; punctuation is turned into spaces first so
# the default parser's special tokens (emails, URLs, hyphenated words, decimals) split into
# words exactly as SQLite's unicode61 splits them.
_PG_COLUMN = (
    f"ALTER TABLE messages ADD COLUMN {TSV_COLUMN} tsvector GENERATED ALWAYS AS ("
    "CASE WHEN kind <> 'system' THEN "
    "to_tsvector('simple'::regconfig, regexp_replace(body, '[[:punct:]]+', ' ', 'g')) "
    "END) STORED"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Adding a stored generated column rewrites the table: existing rows are indexed here.
        op.execute(_PG_COLUMN)
        # btree_gin (a contrib extension, trusted: a database owner may create it) lets the GIN
        # index lead with the tenant, so a search reads only its tenant's matches of a word,
        # never every tenant's (a cost, and a timing oracle, across tenants).
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.execute(f"CREATE INDEX {TSV_INDEX} ON messages USING gin (tenant_id, {TSV_COLUMN})")
        return
    op.execute(_SQLITE_TABLE)
    for trigger in _SQLITE_TRIGGERS:
        op.execute(trigger)
    # The messages written before this migration.
    op.execute(
        f"INSERT INTO {FTS_TABLE}(rowid, body, tenant_id) "
        "SELECT rowid, body, tenant_id FROM messages WHERE kind <> 'system'"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {TSV_INDEX}")
        op.execute(f"ALTER TABLE messages DROP COLUMN IF EXISTS {TSV_COLUMN}")
        return
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{name}")
    op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
