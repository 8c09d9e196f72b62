"""Fill a benchmark database with N synthetic citizens and N issued tokens, then show the query
plans of the hot lookups. Used by `bench/run.py --prefill N` for the cost-growth measurement
(throughput with 1,000,000 citizens and tokens against an empty database).

Synthetic only: valid-shaped CCCD numbers from a counter, one shared password hash, random
subjects; tokens are random hashes that no client holds.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
import time
import uuid

from sqlalchemy import func, insert, select, text

from idp import create_app
from idp.extensions import db
from idp.identity.cccd import PROVINCE_CODES
from idp.models import Citizen, Client, Token

BATCH = 20_000
PROVINCES = sorted(PROVINCE_CODES)


def cccd(i: int) -> str:
    # 1,000,000 serials per (province, birth year 1980): unique and valid-shaped (male, 1980).
    return f"{PROVINCES[i // 1_000_000]}080{i % 1_000_000:06d}"


def fill(n: int) -> dict:
    app = create_app()
    with app.app_context():
        password_hash = app.extensions["idp"].passwords.hash(secrets.token_urlsafe(16))
        client_id = db.session.scalar(select(Client.client_id).where(Client.client_id == "bench-web"))
        first_pk = (db.session.scalar(select(func.max(Citizen.id))) or 0) + 1
        now = int(time.time())
        started = time.perf_counter()
        citizens = Citizen.__table__
        for start in range(0, n, BATCH):
            rows = [{"subject": str(uuid.uuid4()), "citizen_id": cccd(i), "full_name": "Công Dân Thử Nghiệm",
                     "family_name": "Công", "given_name": "Nghiệm", "birth_date": _birth(), "gender": "male",
                     "phone": None, "phone_verified": False, "email": None, "email_verified": False,
                     "address": None, "locale": "vi", "status": "active", "password_hash": password_hash,
                     "created_at": now, "updated_at": now}
                    for i in range(start, min(n, start + BATCH))]
            db.session.execute(insert(citizens), rows)
            db.session.commit()
        citizens_s = time.perf_counter() - started
        started = time.perf_counter()
        tokens = Token.__table__
        for start in range(0, n, BATCH):
            rows = [{"token_hash": hashlib.sha256(secrets.token_bytes(16)).hexdigest(), "kind": "access",
                     "grant_id": secrets.token_hex(16), "client_id": client_id,
                     "citizen_pk": first_pk + (i % n), "scope": "openid profile", "auth_time": now,
                     "acr": "urn:thainguyen:id:loa:1", "amr": ["pwd"], "sid": None, "signing_kid": None,
                     "issued_at": now - 60, "expires_at": now + 86400, "used_at": None, "revoked_at": None}
                    for i in range(start, min(n, start + BATCH))]
            db.session.execute(insert(tokens), rows)
            db.session.commit()
        tokens_s = time.perf_counter() - started
        dialect = db.session.get_bind().dialect.name
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        plans = query_plans(dialect)
        counts = {"citizens": db.session.scalar(select(func.count()).select_from(Citizen)),
                  "tokens": db.session.scalar(select(func.count()).select_from(Token))}
    return {"rows": n, "citizens_seconds": round(citizens_s, 1), "tokens_seconds": round(tokens_s, 1),
            "counts": counts, "plans": plans}


def _birth():
    import datetime as dt

    return dt.date(1980, 1, 1)


HOT = {
    "token by hash (userinfo, introspection, refresh)":
        "SELECT * FROM tokens LEFT OUTER JOIN citizens ON citizens.id = tokens.citizen_pk "
        "WHERE tokens.token_hash = 'x'",
    "client by client_id (every token request)": "SELECT * FROM clients WHERE client_id = 'bench-web'",
    "citizen by CCCD (login)": "SELECT * FROM citizens WHERE citizen_id = '019080000001'",
    "revoke a grant (replay, refresh reuse)": "UPDATE tokens SET revoked_at = 1 WHERE grant_id = 'x'",
    "session by cookie hash": "SELECT * FROM browser_sessions WHERE session_hash = 'x'",
}


def query_plans(dialect: str) -> dict:
    plans = {}
    for name, sql in HOT.items():
        explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        rows = db.session.execute(text(explain + sql)).all()
        plans[name] = [" ".join(str(c) for c in row[-1:]) for row in rows]
        db.session.rollback()
    return plans


if __name__ == "__main__":
    print(json.dumps(fill(int(sys.argv[1])), ensure_ascii=False))
