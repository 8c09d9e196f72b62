"""CPU per request, in process: the hot endpoints called through the whole WSGI stack (every
middleware, the same app `idp serve` runs) from one thread, no sockets, no server. On a machine
shared with other jobs this is steadier than requests/s over HTTP, and it is what each change to
the hot path is judged by first.

    .venv/bin/python bench/inproc.py [--n 3000] [--flows token,introspect,userinfo,refresh,revoke,login]
                                     [--db postgres] [--threads N] [--profile FLOW]
                                     [--log-level INFO] [--log-format json]

Prints, per flow, the median (and the best) over 5 rounds of the process CPU time per request
(µs) and the status codes seen (all must be 200). The ``login`` flow is a citizen's three pages
(GET /authorize, POST /login, POST /consent, with cookies, as flow.mjs asks for them): the median
thread CPU of each page with the Argon2 verify taken out (fast Argon2 parameters), and the verify's
own median; at most 300 logins a round. ``--log-level INFO`` adds what every audit
event's log line costs (production logs at INFO; written to stderr). With ``--profile``, the
environment picks the clock (PROFILE_CLOCK=cpu, the default, or wall: reading the CPU clock is a
system call, which inflates small functions), the order (SORT=tottime or cumulative) and the
number of lines (TOP=30).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime as dt
import hashlib
import io
import json
import os
import pstats
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 8192, "argon2_parallelism": 1}


def build(db: str, workdir: Path, log_level: str = "WARNING", log_format: str = "text"):
    from sqlalchemy import create_engine, text

    from idp import create_app, schema
    from idp.config import Settings

    if db == "postgres":
        name = f"tnid_inproc_{secrets.token_hex(4)}"
        admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    else:
        name, admin, url = None, None, f"sqlite:///{workdir / 'idp.sqlite3'}"
    settings = Settings.from_env(
        {}, database_url=url, instance_dir=workdir, keys_dir=workdir / "keys",
        issuer="http://127.0.0.1:5000", ratelimit_enabled=False, log_level=log_level, log_format=log_format,
        **FAST_ARGON2,
    )
    app = create_app(settings)
    schema.upgrade(app)
    return app, (admin, name)


def seed(app, tokens_wanted: int) -> dict:
    from idp.credentials import new_grant_id, token_hash
    from idp.extensions import db
    from idp.identity import cccd, citizens
    from idp.models import AuthorizationCode
    from idp.oauth import clients
    from idp.oauth import tokens as store
    from idp.services import services

    with app.app_context():
        cc, cc_secret = clients.register(clients.ClientSpec(
            name="Bench API", redirect_uris=[], scopes=["api:read"], grant_types=["client_credentials"],
            client_id="bench-cc"))
        web, web_secret = clients.register(clients.ClientSpec(
            name="Bench web", redirect_uris=["https://bench.example/cb"],
            scopes=["openid", "profile", "email", "offline_access"],
            grant_types=["authorization_code", "refresh_token"], client_id="bench-web"))
        birth = dt.date(1990, 5, 15)
        citizen = citizens.create(citizens.NewCitizen(
            citizen_id=f"{cccd.THAI_NGUYEN}{cccd.century_gender_digit(birth, 'male')}90100001",
            full_name="Nguyễn Văn Bench", birth_date=birth, gender="male",
            password="bench-password-2026", email="bench@example.com", email_verified=True),
            services().passwords)
        db.session.flush()
        access, refresh = [], []
        ctx = store.AuthContext(auth_time=int(time.time()), acr="1", amr=["pwd"], sid="s" * 16)
        for _ in range(tokens_wanted):
            at, rt = store.generate_access_token(), store.generate_refresh_token()
            token = {"access_token": at, "refresh_token": rt, "expires_in": 600,
                     "scope": "openid profile email offline_access"}
            store.store(token, web, citizen, new_grant_id(), ctx)
            access.append(at)
            refresh.append(rt)
        codes = []
        for _ in range(tokens_wanted // 2):
            # What /authorize stores after a login and consent, with S256 PKCE.
            code, verifier = "tnid_ac_" + secrets.token_urlsafe(32), secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            db.session.add(AuthorizationCode(
                code_hash=token_hash(code), grant_id=new_grant_id(), client_id="bench-web",
                citizen_pk=citizen.id, redirect_uri="https://bench.example/cb",
                scope="openid profile email offline_access", nonce="n-0S6_WzA2Mj", code_challenge=challenge,
                code_challenge_method="S256", auth_time=ctx.auth_time, acr=ctx.acr, amr=ctx.amr, sid=ctx.sid,
                expires_at=int(time.time()) + 3600))
            codes.append((code, verifier))
        db.session.commit()
    return {"cc": ("bench-cc", cc_secret), "web": ("bench-web", web_secret),
            "access": access, "refresh": refresh, "codes": codes,
            "citizen": (citizen.citizen_id, "bench-password-2026")}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def environ(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> dict:
    env = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:5000", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
        "wsgi.run_once": False, "wsgi.version": (1, 0), "HTTP_USER_AGENT": "inproc/1",
    }
    if body:
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        env["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def call(app, env: dict) -> tuple[str, bytes]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status

    result = app(env, start_response)
    body = b"".join(result)
    if hasattr(result, "close"):
        result.close()
    return seen["status"], body


def flows(seeded: dict) -> dict:
    cc_auth = basic(*seeded["cc"])
    web_auth = basic(*seeded["web"])
    access, chains = seeded["access"], list(seeded["refresh"])
    cc_body = urlencode({"grant_type": "client_credentials", "scope": "api:read"}).encode()

    def token(i):
        return environ("POST", "/token", cc_body, {"Authorization": cc_auth})

    def introspect(i):
        body = urlencode({"token": access[i % len(access)]}).encode()
        return environ("POST", "/introspect", body, {"Authorization": web_auth})

    def userinfo(i):
        return environ("GET", "/userinfo", headers={"Authorization": "Bearer " + access[i % len(access)]})

    def refresh(i):
        rt = chains.pop()
        return environ("POST", "/token", urlencode({"grant_type": "refresh_token", "refresh_token": rt}).encode(),
                       {"Authorization": web_auth})

    def after_refresh(body: bytes):
        chains.insert(0, json.loads(body)["refresh_token"])

    revocable = list(access)

    def revoke(i):
        return environ("POST", "/revoke", urlencode({"token": revocable.pop()}).encode(), {"Authorization": web_auth})

    codes = list(seeded["codes"])

    def code(i):
        value, verifier = codes.pop()
        body = urlencode({"grant_type": "authorization_code", "code": value,
                          "redirect_uri": "https://bench.example/cb", "code_verifier": verifier}).encode()
        return environ("POST", "/token", body, {"Authorization": web_auth})

    return {"token": (token, None), "introspect": (introspect, None), "userinfo": (userinfo, None),
            "refresh": (refresh, after_refresh), "revoke": (revoke, None), "code": (code, None)}


_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"')
PAGES = ("authorize", "login", "consent")


def login_pages(app, seeded: dict, n: int) -> tuple[dict[str, float], float, dict]:
    """A citizen's three pages of a login, as flow.mjs asks for them (GET /authorize with
    prompt=consent, POST /login, POST /consent): the median thread CPU of each page in µs, with
    the Argon2 verify taken out of the login's (measured around it); the verify's own median; the
    statuses. Each login has its own cookies, as a browser would."""
    from idp.identity.passwords import Passwords

    argon2 = [0.0]
    verify = Passwords._verify_quietly

    def timed_verify(self, *args):
        started = time.thread_time()
        try:
            return verify(self, *args)
        finally:
            argon2[0] += time.thread_time() - started

    identifier, password = seeded["citizen"]
    spent: dict[str, list[float]] = {page: [] for page in PAGES}
    verifies, statuses = [], {}

    def page(name: str, env: dict, cookies: dict) -> str:
        env["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        seen = {}

        def start_response(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers

        before, started = argon2[0], time.thread_time()
        result = app(env, start_response)
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        verified = argon2[0] - before
        spent[name].append((time.thread_time() - started - verified) * 1e6)
        if verified:
            verifies.append(verified * 1e6)
        statuses[seen["status"]] = statuses.get(seen["status"], 0) + 1
        for header, value in seen["headers"]:
            if header.lower() == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                cookies[cookie_name] = rest.split(";", 1)[0]
            elif header.lower() == "location":
                return value
        return body.decode()

    Passwords._verify_quietly = timed_verify
    try:
        for _ in range(n):
            cookies: dict[str, str] = {}
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            env = environ("GET", "/authorize")
            env["QUERY_STRING"] = urlencode({
                "client_id": seeded["web"][0], "response_type": "code", "redirect_uri": "https://bench.example/cb",
                "scope": "openid profile email offline_access", "state": secrets.token_urlsafe(12),
                "nonce": secrets.token_urlsafe(12), "code_challenge": challenge, "code_challenge_method": "S256",
                "prompt": "consent"})
            form = dict(_HIDDEN.findall(page("authorize", env, cookies)))
            form.update(identifier=identifier, password=password)
            form = dict(_HIDDEN.findall(page("login", environ("POST", "/login", urlencode(form).encode()), cookies)))
            form["decision"] = "allow"
            page("consent", environ("POST", "/consent", urlencode(form).encode()), cookies)
    finally:
        Passwords._verify_quietly = verify
    return ({name: statistics.median(values) for name, values in spent.items()},
            statistics.median(verifies) if verifies else 0.0, statuses)


def measure(app, make, after, n: int, threads: int = 1) -> tuple[float, float, dict]:
    """(CPU µs, wall µs, statuses) per request; with threads > 1, that many threads share the n
    requests (as Granian's blocking threads do), so that concurrent writers commit together."""
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    envs = [make(i) for i in range(n)] if after is None else None

    def run(indexes) -> None:
        for i in indexes:
            with lock:
                env = envs[i] if envs is not None else make(i)
            status, body = call(app, env)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if after is not None and status.startswith("200"):
                    after(body)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    if threads == 1:
        run(range(n))
    else:
        workers = [threading.Thread(target=run, args=(range(t, n, threads),)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / n * 1e6, wall / n * 1e6, statuses


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--flows", default="token,introspect,userinfo,refresh,code,revoke")
    ap.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--threads", type=int, default=1, help="threads sharing the requests (Granian's)")
    ap.add_argument("--profile", default=None, help="a flow to run under cProfile (top 30 by tottime)")
    ap.add_argument("--log-level", default="WARNING", help="INFO writes every audit event's log line (to stderr)")
    ap.add_argument("--log-format", default="text", choices=["text", "json"])
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tnid-inproc-"))
    os.environ.setdefault("IDP_KEYS_PASSPHRASE", "inproc-bench-passphrase")
    app, (admin, dbname) = build(args.db, workdir, args.log_level, args.log_format)
    wanted = args.n * (args.rounds + 1) + 10
    seeded = seed(app, wanted)
    table = flows(seeded)
    try:
        for name in args.flows.split(","):
            if name == "login":
                logins = min(args.n, 300)
                login_pages(app, seeded, 20)  # warm-up
                rounds = [login_pages(app, seeded, logins) for _ in range(args.rounds)]
                medians = {page: statistics.median(r[0][page] for r in rounds) for page in PAGES}
                statuses: dict = {}
                for r in rounds:
                    for k, v in r[2].items():
                        statuses[k] = statuses.get(k, 0) + v
                print(f"{'login':11s} " + "  ".join(f"{page} {medians[page]:7.1f}" for page in PAGES)
                      + f"  µs/page; pages {sum(medians.values()):8.1f} µs per login besides its Argon2 verify"
                      f" ({statistics.median(r[1] for r in rounds):,.0f} µs)  {statuses}", flush=True)
                continue
            make, after = table[name]
            if name in ("revoke", "code"):  # each request spends one of the seeded tokens or codes
                per_round = min(args.n, len(seeded["codes"]) // (args.rounds + 1))
                rounds = [measure(app, make, after, per_round, args.threads) for _ in range(args.rounds)]
            else:
                measure(app, make, after, min(200, args.n), args.threads)  # warm-up
                rounds = [measure(app, make, after, args.n, args.threads) for _ in range(args.rounds)]
            cpu = statistics.median(r[0] for r in rounds)
            best = min(r[0] for r in rounds)  # the least disturbed round, on a shared machine
            wall = statistics.median(r[1] for r in rounds)
            statuses: dict = {}
            for r in rounds:
                for k, v in r[2].items():
                    statuses[k] = statuses.get(k, 0) + v
            print(f"{name:11s} cpu {cpu:8.1f} µs/req (best {best:6.1f})  wall {wall:8.1f} µs/req  "
                  f"(≈{1e6 / cpu:,.0f} req/s per core)  {statuses}", flush=True)
        if args.profile:
            prof = cProfile.Profile(time.process_time if os.environ.get("PROFILE_CLOCK", "cpu") == "cpu" else time.perf_counter)  # CPU by default (PROFILE_CLOCK=wall: cheaper to read, less distortion)
            if args.profile == "login":
                prof.enable()
                login_pages(app, seeded, min(args.n, 300))
            else:
                make, after = table[args.profile]
                prof.enable()
                measure(app, make, after, args.n)
            prof.disable()
            pstats.Stats(prof).sort_stats(os.environ.get("SORT", "tottime")).print_stats(int(os.environ.get("TOP", "30")))
    finally:
        if admin is not None:
            from sqlalchemy import text

            from idp.extensions import db
            with app.app_context():
                db.engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
