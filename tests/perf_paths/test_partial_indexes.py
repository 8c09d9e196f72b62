"""Migration 0006 made four indexes partial (no entry where the first column is NULL, as it is for
a client_credentials token and its audit row). The lookups that need them must still use them,
on SQLite and on PostgreSQL: logout (sid), a key compromise (signing_kid), consent withdrawn
(citizen and portal), a citizen's access history (audit by citizen)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from idp.extensions import db

LOOKUPS = {
    "ix_tokens_sid": "SELECT client_id FROM tokens WHERE sid = :v",
    "ix_tokens_signing_kid": "UPDATE tokens SET revoked_at = 1 WHERE signing_kid = :v AND revoked_at IS NULL",
    "ix_tokens_citizen_client": (
        "UPDATE tokens SET revoked_at = 1 WHERE citizen_pk = 1 AND client_id = :v AND revoked_at IS NULL"
    ),
    "ix_audit_events_citizen_at": (
        "SELECT id FROM audit_events WHERE citizen_pk = 1 AND event_type = :v ORDER BY at DESC LIMIT 50"
    ),
}


def plan_of(conn, sql: str) -> str:
    if conn.dialect.name == "sqlite":
        return " ".join(str(row[-1]) for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql), {"v": "x"}))
    # An empty table is cheaper to scan: ask whether the index can serve the query at all.
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    return " ".join(row[0] for row in conn.execute(text("EXPLAIN " + sql), {"v": "x"}))


@pytest.mark.parametrize(("index", "sql"), LOOKUPS.items(), ids=list(LOOKUPS))
def test_a_lookup_by_a_partially_indexed_column_still_uses_its_index(app, index, sql):
    with app.app_context(), db.engine.connect() as conn:
        assert index in plan_of(conn, sql)
        conn.rollback()


def test_the_indexes_are_partial(app):
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all()
        else:
            rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes")).all()
    definitions = {name: sql for name, sql in rows}
    for index in LOOKUPS:
        assert "IS NOT NULL" in definitions[index], index
