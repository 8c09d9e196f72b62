"""Fill a benchmark database with N synthetic citizens, N issued tokens and their N audit rows,
then show the query plans of the hot statements. Used by `bench/run.py --growth N` (cost growth:
throughput with 1,000,000 citizens and tokens against an empty database) and `--prefill N`.

    IDP_... python bench/prefill.py N [--no-audit]      # prints one JSON line
    IDP_... python bench/prefill.py 0 --plans-only      # only the plans (an empty database)
    … [--costs]     # and the hot statements' own cost, in process (statement_costs)

Synthetic only: valid-shaped CCCD numbers from a counter, one shared password hash, random
subjects; tokens are random hashes that no client holds (half access, half refresh, live for a
day). Each issued token has its `tokens_issued` audit row, as the token endpoint writes one.

The fill goes around the application on purpose (it is not what is measured): SQLite through the
DB-API's executemany in big transactions, PostgreSQL through COPY. Then ANALYZE, as an operator
would after a bulk load.

The plans are those of the statements the hot path really runs (idp/oauth/hotpath.py), compiled
for the database's dialect: EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE) on PostgreSQL for
the reads (with a token and a citizen of the fill, so the plan is of a hit).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sys
import time
import uuid

from sqlalchemy import bindparam, func, insert, select, text

from idp import create_app
from idp.credentials import ACCESS_TOKEN_PREFIX, new_grant_id, new_ordered_token, token_hash
from idp.extensions import db
from idp.identity.cccd import PROVINCE_CODES
from idp.models import AuditEvent, Citizen, Client, Token
from idp.oauth import hotpath

BATCH = 50_000
PROVINCES = sorted(PROVINCE_CODES)
# Tables big enough that a scan would show in the throughput; a scan of `clients` (a few rows)
# is what PostgreSQL rightly chooses for a table of one page.
BIG_TABLES = ("tokens", "citizens", "audit_events")


def cccd(i: int) -> str:
    # 1,000,000 serials per (province, birth year 1980): unique and valid-shaped (male, 1980);
    # bench/seed.py uses 1990, so the two never collide.
    return f"{PROVINCES[i // 1_000_000]}080{i % 1_000_000:06d}"


CITIZEN_COLS = ("subject", "citizen_id", "full_name", "family_name", "given_name", "birth_date", "gender",
                "phone_verified", "email_verified", "locale", "status", "password_hash", "created_at",
                "updated_at")
TOKEN_COLS = ("token_hash", "kind", "grant_id", "client_id", "citizen_pk", "scope", "auth_time", "acr", "amr",
              "subject", "issued_at", "expires_at")
AUDIT_COLS = ("at", "event_type", "outcome", "citizen_pk", "client_id", "actor", "details")


def citizen_rows(start: int, stop: int, password_hash: str, now: int):
    birth = dt.date(1980, 1, 1)
    for i in range(start, stop):
        yield (str(uuid.uuid4()), cccd(i), "Công Dân Thử Nghiệm", "Công", "Nghiệm", birth, "male",
               False, False, "vi", "active", password_hash, now, now)


def token_rows(start: int, stop: int, first_pk: int, n: int, client_id: str, now: int):
    # Keyed as the server keys what it issues (credentials.token_hash: issue time, then SHA-256).
    for i in range(start, stop):
        key = token_hash(new_ordered_token(ACCESS_TOKEN_PREFIX))
        yield (key, "access" if i % 2 == 0 else "refresh", new_grant_id(), client_id,
               first_pk + i % n, "openid profile", now - 600, "urn:thainguyen:id:loa:1", '["pwd"]', None,
               now - 60 - i % 3600, now + 86400)


def audit_rows(start: int, stop: int, first_pk: int, n: int, client_id: str, now: int):
    details = json.dumps({"grant_type": "authorization_code", "scope": "openid profile",
                          "refresh_token_issued": True})
    for i in range(start, stop):
        yield (now - 60 - i % 3600, "tokens_issued", "success", first_pk + i % n, client_id, "portal", details)


def bulk(raw, dialect: str, table: str, cols: tuple, rows) -> None:
    cur = raw.cursor()
    if dialect == "postgresql":
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        # table and columns are this module's constants; the values are bound
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"  # noqa: S608
        cur.executemany(sql,
                        [tuple(r.isoformat() if isinstance(r, dt.date) else r for r in row) for row in rows])
    raw.commit()


def fill(n: int, with_audit: bool = True) -> dict:
    app = create_app()
    with app.app_context():
        password_hash = app.extensions["idp"].passwords.hash(secrets.token_urlsafe(16))
        client_id = db.session.scalar(select(Client.client_id).where(Client.client_id == "bench-web"))
        first_pk = (db.session.scalar(select(func.max(Citizen.id))) or 0) + 1
        dialect = db.engine.dialect.name
        db.session.commit()
        raw = db.engine.raw_connection()
        if dialect == "sqlite":
            # this connection only: the fill is not what is measured
            raw.cursor().execute("PRAGMA synchronous=OFF")
        now = int(time.time())
        seconds = {}
        jobs = [("citizens", CITIZEN_COLS, lambda a, b: citizen_rows(a, b, password_hash, now)),
                ("tokens", TOKEN_COLS, lambda a, b: token_rows(a, b, first_pk, n, client_id, now))]
        if with_audit:
            jobs.append(("audit_events", AUDIT_COLS, lambda a, b: audit_rows(a, b, first_pk, n, client_id, now)))
        for table, cols, rows in jobs:
            started = time.perf_counter()
            for start in range(0, n, BATCH):
                bulk(raw, dialect, table, cols, rows(start, min(n, start + BATCH)))
            seconds[table] = round(time.perf_counter() - started, 1)
            print(f"  filled {table}: {n:,} rows in {seconds[table]} s", file=sys.stderr, flush=True)
        started = time.perf_counter()
        cur = raw.cursor()
        cur.execute("ANALYZE")
        raw.commit()
        seconds["analyze"] = round(time.perf_counter() - started, 1)
        raw.close()
        counts = row_counts()
        plans = query_plans(dialect)
        size = database_bytes(dialect)
    return {"rows": n, "seconds": seconds, "fill_seconds": round(sum(seconds.values()), 1),
            "counts": counts, "plans": plans, "audit": with_audit, "db_bytes": size}


def database_bytes(dialect: str) -> int:
    if dialect == "sqlite":
        pages = db.session.execute(text("PRAGMA page_count")).scalar()
        size = db.session.execute(text("PRAGMA page_size")).scalar()
        return pages * size
    return db.session.execute(text("SELECT pg_database_size(current_database())")).scalar()


def row_counts() -> dict:
    return {name: db.session.scalar(select(func.count()).select_from(model))
            for name, model in (("citizens", Citizen), ("tokens", Token), ("audit_events", AuditEvent))}


# --- the hot statements and their plans ---------------------------------------------------------
def hot_statements() -> list[tuple[str, object, dict]]:
    """(name, statement, parameters): what the hot path runs, with values of the fill."""
    token = db.session.execute(
        select(Token.token_hash, Token.citizen_pk, Token.id).order_by(Token.id.desc()).limit(1)
    ).first()
    token_hash, citizen_pk, token_id = token if token else ("0" * 64, 1, 1)
    citizen_id = db.session.scalar(select(Citizen.citizen_id).order_by(Citizen.id.desc()).limit(1)) or "0"
    citizens = Citizen.__table__
    tokens = Token.__table__
    return [
        ("client read (every token, introspection, refresh request: FIND_CLIENT)",
         hotpath.FIND_CLIENT, {"client_id": "bench-web"}),
        ("userinfo: token + citizen (+ client) in one read (FIND_TOKEN_FOR_USERINFO)",
         hotpath.FIND_TOKEN_FOR_USERINFO, {"token_hash": token_hash}),
        ("introspection / refresh: token + citizen (FIND_TOKEN)", hotpath.FIND_TOKEN, {"token_hash": token_hash}),
        ("token insert: the foreign-key check of tokens.citizen_pk (citizens by primary key)",
         select(citizens.c.id).where(citizens.c.id == bindparam("id")), {"id": citizen_pk}),
        ("token insert: the unique check of tokens.token_hash",
         select(tokens.c.id).where(tokens.c.token_hash == bindparam("token_hash")), {"token_hash": token_hash}),
        ("refresh rotation: old token marked used (MARK_USED)", hotpath.MARK_USED,
         {"token_id": token_id, "used_at": 1}),
        ("login: citizen by CCCD number", select(citizens.c.id, citizens.c.password_hash)
         .where(citizens.c.citizen_id == bindparam("citizen_id")), {"citizen_id": citizen_id}),
    ]


def query_plans(dialect: str) -> dict:
    plans = {}
    engine = db.engine
    for name, stmt, params in hot_statements():
        compiled = stmt.compile(dialect=engine.dialect)
        values = compiled.construct_params(params)
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            is_select = str(compiled).lstrip().upper().startswith("SELECT")
            if dialect == "sqlite":
                args = tuple(values[k] for k in compiled.positiontup)
                cur.execute("EXPLAIN QUERY PLAN " + str(compiled), args)
                lines = [row[-1] for row in cur.fetchall()]
            else:
                explain = "EXPLAIN (ANALYZE, COSTS OFF, TIMING ON) " if is_select else "EXPLAIN (COSTS OFF) "
                cur.execute(explain + str(compiled), values)
                lines = [row[0] for row in cur.fetchall()]
            raw.rollback()
        finally:
            raw.close()
        plans[name] = {"sql": " ".join(str(compiled).split())[:400], "plan": lines, "verdict": verdict(dialect, lines)}
    plans["indexes written by a token insert"] = {"sql": "", "plan": index_list(dialect), "verdict": "index"}
    return plans


def verdict(dialect: str, lines: list[str]) -> str:
    """'index' when every big table is reached through an index, 'SCAN <table>' otherwise; a scan
    of a small table (clients: a handful of rows) is named but is not a failure."""
    small = []
    for line in lines:
        low = line.lower().strip(" ->")
        if dialect == "sqlite":
            m = low.startswith("scan ") and "using" not in low and low.split()[1]
        else:
            m = "seq scan on " in low and low.split("seq scan on ", 1)[1].split()[0]
        if m in BIG_TABLES:
            return f"SCAN {m}"
        if m:
            small.append(m)
    return "index" + (f" (scan of the small table {', '.join(small)})" if small else "")


def index_list(dialect: str) -> list[str]:
    if dialect == "sqlite":
        rows = db.session.execute(text(
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
            "('tokens', 'audit_events') ORDER BY tbl_name, name")).all()
    else:
        rows = db.session.execute(text(
            "SELECT tablename, indexname FROM pg_indexes WHERE tablename IN ('tokens', 'audit_events') "
            "ORDER BY tablename, indexname")).all()
    db.session.rollback()
    return [f"{table}: {name}" for table, name in rows]


# --- the statements' own cost, in process ---------------------------------------------------------
def statement_costs(rounds: int = 5, reads: int = 10_000, writes: int = 1_000) -> dict:
    """µs per execution (median of `rounds`) of the hot statements on one DB-API connection of the
    app's engine (its pragmas), one thread: the token read of userinfo and of introspection over a
    pool of 500 fresh tokens (as the HTTP benchmark's pool), and a client_credentials token's writes
    (the token row and its audit row, one commit each). Wall time, and process CPU (on SQLite all the
    work is in this process; on PostgreSQL the server's share is not in it). Steadier than req/s on a
    shared machine: it says what the database's size costs each request."""
    engine = db.engine
    dialect = engine.dialect
    now = int(time.time())
    pk = db.session.scalar(select(func.min(Citizen.id)))
    db.session.rollback()
    pool = [secrets.token_hex(32) for _ in range(500)]
    tokens, audit = Token.__table__, AuditEvent.__table__

    def token_row(value: str, citizen_pk) -> dict:
        return {"token_hash": value, "kind": "access", "grant_id": new_grant_id(), "client_id": "bench-web",
                "citizen_pk": citizen_pk, "scope": "openid profile email", "auth_time": now,
                "acr": "urn:thainguyen:id:loa:1", "amr": '["pwd"]', "issued_at": now, "expires_at": now + 3600}

    audit_row = {"at": now, "event_type": "tokens_issued", "outcome": "success", "citizen_pk": None,
                 "client_id": "bench-cc", "actor": "portal", "ip_address": "127.0.0.1",
                 "details": '{"grant_type": "client_credentials", "scope": "api:read"}'}

    def prepared(stmt, row):
        compiled = stmt.compile(dialect=dialect, column_keys=list(row) if row else None)
        sql = str(compiled)
        if compiled.positiontup is not None:
            keys = compiled.positiontup
            return sql, lambda values: tuple(values[k] for k in keys)
        return sql, lambda values: values

    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        ins_token, tok_args = prepared(insert(tokens), token_row("x", pk))
        ins_audit, audit_args = prepared(insert(audit), audit_row)
        for value in pool:
            cur.execute(ins_token, tok_args(token_row(value, pk)))
        raw.commit()
        out = {}
        for name, stmt in (("userinfo read (FIND_TOKEN_FOR_USERINFO)", hotpath.FIND_TOKEN_FOR_USERINFO),
                           ("introspection read (FIND_TOKEN)", hotpath.FIND_TOKEN)):
            sql, args = prepared(stmt, None)
            params = [args({"token_hash": v}) for v in pool]
            out[name] = _timed(rounds, reads, lambda i, sql=sql, params=params: (
                cur.execute(sql, params[i % 500]), cur.fetchone()))
            raw.rollback()

        def write(i):
            cur.execute(ins_token, tok_args(token_row(secrets.token_hex(32), None)))
            cur.execute(ins_audit, audit_args(audit_row))
            raw.commit()

        out["token + audit rows written, one commit each"] = _timed(rounds, writes, write)
    finally:
        raw.close()
    return out


def _timed(rounds: int, n: int, fn) -> dict:
    walls, cpus = [], []
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(n):
            fn(i)
        walls.append((time.perf_counter() - w0) / n * 1e6)
        cpus.append((time.process_time() - c0) / n * 1e6)
    walls.sort()
    cpus.sort()
    return {"wall_us": round(walls[rounds // 2], 1), "cpu_us": round(cpus[rounds // 2], 1), "n": n, "rounds": rounds}


def main() -> None:
    n = int(sys.argv[1])
    if "--plans-only" in sys.argv:
        app = create_app()
        with app.app_context():
            dialect = db.engine.dialect.name
            out = {"rows": 0, "counts": row_counts(), "plans": query_plans(dialect)}
    else:
        out = fill(n, with_audit="--no-audit" not in sys.argv)
    if "--costs" in sys.argv:
        app = create_app()
        with app.app_context():
            out["costs"] = statement_costs()
        for name, c in out["costs"].items():
            print(f"  {name}: {c['wall_us']} µs wall, {c['cpu_us']} µs CPU", file=sys.stderr, flush=True)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
