#!/usr/bin/env python3
"""The token endpoint under steady load while `idp keys rotate` runs three times.

    python bench/key_rotation.py [--db sqlite|postgres] [--threads 8] [--interval 5] [--fast-argon2]

A fresh instance (temp dir; with --db postgres a database created and dropped here) served by
`idp serve --workers 2` with IDP_KEY_CACHE_SECONDS=1 and IDP_JWKS_MAX_AGE=2s, so a next key may
be promoted 3 s after it was published. A portal and citizens are seeded; one login per thread
(scope openid offline_access) gives each thread a refresh token. Then every thread loops the
refresh_token grant on its own rotating chain; each response carries an ID token, and right
after each one the thread fetches the JWKS over HTTP (no cache) and verifies the ID token with
joserfc against it. Meanwhile `idp keys rotate` runs three times, --interval seconds apart, with
the server's environment; the load goes on for --interval seconds after the last rotation.

Reports: requests made, failures (any refresh that did not answer 200 with an id_token and a new
refresh_token; must be 0), ID tokens that failed verification against the JWKS fetched right
after they were issued (must be 0), rotations done (must be 3), and the kids seen. Exits non-zero
on any failure. Per-IP rate limits are off (IDP_RATELIMIT_ENABLED=false): 8 threads of refresh
grants would otherwise be throttled at the default 6000/minute, and the subject is the keys.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_VENV_PY = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
if Path(sys.prefix).resolve() != _VENV_PY.parent.parent.resolve() and _VENV_PY.exists():
    os.execv(str(_VENV_PY), [str(_VENV_PY), *sys.argv])

import argparse
import json
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    BENCH_DIR,
    VENV_BIN,
    Browser,
    Conn,
    HttpError,
    basic_auth,
    free_port,
    start_idp_serve,
    tree_pids,
    wait_http,
)
from loadgen import authorize_query, code_from, drive_login, exchange

ALGS = ["RS256", "PS256", "ES256", "EdDSA"]
FAST_ARGON2 = {"IDP_ARGON2_TIME_COST": "1", "IDP_ARGON2_MEMORY_COST": "8192", "IDP_ARGON2_PARALLELISM": "1"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--rotations", type=int, default=3)
    ap.add_argument("--fast-argon2", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tnid-rotation-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(
        IDP_ISSUER=base,
        IDP_INSTANCE_DIR=str(tmp / "instance"),
        IDP_KEYS_DIR=str(tmp / "keys"),
        IDP_LOG_LEVEL="WARNING",
        IDP_KEY_CACHE_SECONDS="1",
        IDP_JWKS_MAX_AGE="2s",
        IDP_RATELIMIT_ENABLED="false",
    )
    if args.fast_argon2:
        env.update(FAST_ARGON2)
    pg_db = None
    server = None

    def pg(sql):
        import psycopg

        with psycopg.connect(f"{args.pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    try:
        if args.db == "postgres":
            pg_db = "tnid_rotation_" + secrets.token_hex(4)
            pg(f'CREATE DATABASE "{pg_db}"')
            env["IDP_DATABASE_URL"] = f"{args.pg_url.rstrip('/')}/{pg_db}"
        idp = str(VENV_BIN / "idp")
        subprocess.run([idp, "db", "upgrade"], env=env, check=True, capture_output=True)
        seeded = json.loads(
            subprocess.run(
                [str(VENV_BIN / "python"), str(BENCH_DIR / "seed.py"), "--citizens", str(args.threads), "--no-cc"],
                env=env, check=True, capture_output=True, text=True,
            ).stdout
        )
        seeded["base"] = base
        log = open(tmp / "server.log", "w")
        server, note = start_idp_serve(env, f"127.0.0.1:{port}", 2, 4, log)
        if note:
            print("# WARNING: " + note, flush=True)
        wait_http(base + "/.well-known/openid-configuration", 60, server)
        t_start = time.monotonic()
        print(f"# {base}: idp serve --workers 2 (pids {tree_pids(server.pid)}), {args.db}, "
              f"IDP_KEY_CACHE_SECONDS=1 IDP_JWKS_MAX_AGE=2s", flush=True)

        web = seeded["web"]
        auth = {"Authorization": basic_auth(web["client_id"], web["client_secret"])}
        chains = []
        for i in range(args.threads):
            conn = Conn(base)
            browser = Browser(conn)
            path, verifier, state = authorize_query(seeded, "openid offline_access", prompt="consent")
            loc, _ = drive_login(browser, seeded, path, seeded["citizens"][i % len(seeded["citizens"])])
            tokens = exchange(conn, seeded, code_from(loc, state), verifier)
            chains.append(tokens["refresh_token"])
        print(f"# {len(chains)} logins done; refresh load from {args.threads} threads", flush=True)

        lock = threading.Lock()
        stats = Counter()
        kids = Counter()
        problems: list[str] = []
        stop = threading.Event()

        def note(kind: str, msg: str) -> None:
            with lock:
                stats[kind] += 1
                if len(problems) < 20:
                    problems.append(f"{time.monotonic() - t_start:6.1f}s {kind}: {msg}")

        def worker(i: int) -> None:
            conn, jwks_conn = Conn(base), Conn(base)
            rt = chains[i]
            while not stop.is_set():
                try:
                    resp = conn.request(
                        "POST", "/token", urlencode({"grant_type": "refresh_token", "refresh_token": rt}), auth
                    )
                except HttpError as exc:
                    note("failures", str(exc))
                    continue
                with lock:
                    stats["requests"] += 1
                body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
                if resp.status != 200 or "id_token" not in body or "refresh_token" not in body:
                    note("failures", f"{resp.status} {resp.text[:200]}")
                    return  # the chain is broken (a used refresh token would revoke the family)
                rt = body["refresh_token"]
                id_token = body["id_token"]
                try:
                    jwks = jwks_conn.request("GET", "/jwks.json", None, {"Cache-Control": "no-cache"})
                    keyset = KeySet.import_key_set(jwks.json())
                    token = jwt.decode(id_token, keyset, algorithms=ALGS)
                    if token.claims.get("iss") != base or token.claims.get("aud") not in (
                        web["client_id"], [web["client_id"]]
                    ):
                        raise ValueError(f"claims {token.claims}")
                    with lock:
                        stats["verified"] += 1
                        kids[token.header.get("kid")] += 1
                except Exception as exc:
                    note("verification_failures", f"{type(exc).__name__}: {exc}"[:200])

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.threads)]
        for t in threads:
            t.start()
        rotations = 0
        rotate_log = []
        for n in range(args.rotations):
            time.sleep(args.interval)
            t0 = time.monotonic()
            out = subprocess.run([idp, "keys", "rotate"], env=env, capture_output=True, text=True)
            took = time.monotonic() - t0
            changed = [line for line in out.stdout.splitlines() if line.strip() and "nothing" not in line]
            ok = out.returncode == 0 and bool(changed)
            rotations += ok
            rotate_log.append(
                f"rotation {n + 1} at {t0 - t_start:.1f}s: exit {out.returncode}, {len(changed)} changes, "
                f"{took:.1f}s{'' if ok else ' FAILED: ' + (out.stderr or out.stdout).strip()[-300:]}"
            )
            print("# " + rotate_log[-1], flush=True)
        time.sleep(args.interval)
        stop.set()
        for t in threads:
            t.join(timeout=15)
        alive = sum(t.is_alive() for t in threads)
        elapsed = time.monotonic() - t_start

        print()
        print(f"requests                {stats['requests']} ({stats['requests'] / elapsed:.0f}/s over {elapsed:.0f} s)")
        print(f"failures                {stats['failures']}")
        print(f"verification failures   {stats['verification_failures']}")
        print(f"ID tokens verified      {stats['verified']}")
        print(f"rotations done          {rotations} of {args.rotations}")
        print(f"signing kids seen       {len(kids)}: " + ", ".join(f"{k[:12]}…×{c}" for k, c in kids.items()))
        for p in problems:
            print("  " + p)
        failed = (
            stats["failures"] or stats["verification_failures"] or rotations < args.rotations
            or alive or stats["requests"] == 0
        )
        print("FAIL" if failed else "OK")
        return 1 if failed else 0
    finally:
        if server is not None and server.poll() is None:
            pids = tree_pids(server.pid)
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            time.sleep(0.5)
            for pid in pids:  # workers that outlived the main process
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if pg_db:
            try:
                pg(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
            except Exception as exc:
                print(f"could not drop {pg_db}: {exc}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
