"""The Python load generator of bench/run.py, for the stateful flows (each request consumes or
changes server state, so wrk cannot replay one request). Runs in its own process; run.py pins it
to core 1. Standard library only (threads + http.client keep-alive connections).

    loadgen.py prep-tokens --config CFG --kind cc|user|peer-user --n N --out FILE
    loadgen.py run --config CFG --flow revoke|refresh|code|login|full --threads 8 \
        --warmup 3 --duration 10 [--server-pids P,P] [--rate-hint 1000]

CFG is the JSON written by run.py: {"base", "cc": {client_id, client_secret, scope},
"web": {client_id, client_secret, redirect_uri}, "citizens": [...], "password"}; for the peer
(node-oidc-provider) also "peer": true and its endpoint paths (authorize_path, token_path,
userinfo_path): its logins go through its devInteractions pages (any login, no password), and its
refresh flow accepts an answer that does not rotate the refresh token (rotated_share says how many
did).

`run` prepares what the flow consumes (untimed), warms up, then measures for --duration
seconds with --threads closed-loop workers, and prints `RESULT {json}` on stdout:
rps, p50_ms, p99_ms, requests, errors, first_error, seconds, server/client/other CPU %.
Pools (codes, interactions, tokens to revoke) are sized from the warm-up rate; if a pool still
runs out, the window ends early and "exhausted" says so (the rate stays valid).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sys
import threading
import time
from collections import deque
from html import unescape
from urllib.parse import urlencode

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from common import (
    Browser,
    Conn,
    HttpError,
    Window,
    basic_auth,
    hidden_fields,
    percentile,
    pkce_pair,
    query_of,
)

FULL_SCOPE = "openid profile email offline_access"
USER_SCOPE = "openid profile email"


class FlowError(Exception):
    pass


class Exhausted(Exception):
    pass


def expect(resp, status: int, what: str, contains: str | None = None):
    if resp.status != status or (contains is not None and contains not in resp.text):
        raise FlowError(f"{what}: expected {status}, got {resp.status}: {resp.text[:200]!r}")
    return resp


# --- the browser side of a login ---------------------------------------------------------------
def authorize_query(cfg, scope: str, prompt: str | None = None) -> tuple[str, str, str]:
    verifier, challenge = pkce_pair()
    state = next(_counter).__str__() + "-st"
    params = {
        "client_id": cfg["web"]["client_id"],
        "redirect_uri": cfg["web"]["redirect_uri"],
        "response_type": "code",
        "scope": scope,
        "state": state,
        "nonce": f"n{time.perf_counter_ns()}",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if prompt:
        params["prompt"] = prompt
    return cfg.get("authorize_path", "/authorize") + "?" + urlencode(params), verifier, state


_counter = itertools.count()


def drive_login(browser: Browser, cfg, path: str, identifier: str) -> tuple[str, int]:
    """From /authorize to the redirect back to the portal: answer the login and consent forms.
    Returns (the redirect URL, requests made)."""
    redirect_uri = cfg["web"]["redirect_uri"]
    resp = browser.get(path)
    requests = 1
    for _ in range(12):
        if resp.status in (302, 303):
            loc = resp.location
            if loc.startswith(redirect_uri):
                return loc, requests
            resp = browser.get(loc)
        elif resp.status == 200 and 'name="password"' in resp.text:
            fields = hidden_fields(resp.text)
            fields.update(identifier=identifier, password=cfg["password"])
            resp = browser.post("/login", fields)
        elif resp.status == 200 and 'name="decision"' in resp.text:
            fields = hidden_fields(resp.text)
            fields["decision"] = "allow"
            resp = browser.post("/consent", fields)
        else:
            raise FlowError(f"unexpected page {resp.status}: {resp.text[:200]!r}")
        requests += 1
    raise FlowError("redirect loop")


def code_from(location: str, state: str) -> str:
    q = query_of(location)
    if "code" not in q:
        raise FlowError(f"no code in {location[:200]}")
    if q.get("state") != state or "iss" not in q:
        raise FlowError(f"state/iss mismatch in {location[:200]}")
    return q["code"]


def exchange(conn: Conn, cfg, code: str, verifier: str) -> dict:
    web = cfg["web"]
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": web["redirect_uri"],
            "code_verifier": verifier,
        }
    )
    resp = conn.request(
        "POST", cfg.get("token_path", "/token"), body,
        {"Authorization": basic_auth(web["client_id"], web["client_secret"])},
    )
    expect(resp, 200, "code exchange", '"id_token"')
    return resp.json()


# --- the peer's logins (node-oidc-provider's devInteractions: any login, no password hash) ------
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_INPUT = re.compile(r"<input\b([^>]*)>", re.I)
_ATTR = re.compile(r'([a-zA-Z_:-]+)\s*=\s*"([^"]*)"')


def peer_form(html: str, user: str) -> tuple[str, dict]:
    """The interaction page's POST form: (action, fields), the login one filled with `user`."""
    for attrs, body in _FORM.findall(html):
        a = dict(_ATTR.findall(attrs))
        if a.get("method", "get").lower() != "post":
            continue
        fields = {}
        for raw in _INPUT.findall(body):
            i = dict(_ATTR.findall(raw))
            if "name" in i and i.get("type") not in ("submit", "button"):
                fields[i["name"]] = unescape(i.get("value", ""))
        if "login" in fields or fields.get("prompt") == "login":
            fields.update(login=user, password="pass")
        return unescape(a.get("action", "")), fields
    raise FlowError(f"no interaction form: {html[:200]!r}")


def peer_login(cfg, scope: str, user: str) -> dict:
    """One login at the peer (authorize → login → consent → code → token): its token response."""
    conn = Conn(cfg["base"])
    browser = Browser(conn)
    path, verifier, state = authorize_query(cfg, scope, prompt="consent")
    resp = browser.get(path)
    for _ in range(12):
        if resp.status in (302, 303):
            loc = resp.location
            if loc.startswith(cfg["web"]["redirect_uri"]):
                tokens = exchange(conn, cfg, code_from(loc, state), verifier)
                conn.close()
                return tokens
            resp = browser.get(loc)
        elif resp.status == 200:
            action, fields = peer_form(resp.text, user)
            resp = browser.post(action, fields)
        else:
            raise FlowError(f"peer login: {resp.status} {resp.text[:200]!r}")
    raise FlowError("peer login: redirect loop")


def issue_peer_tokens(cfg, n: int, scope: str, threads: int = 8) -> list[dict]:
    counter = itertools.count()
    return parallel(n, threads, lambda: None, lambda _: peer_login(cfg, scope, f"user{next(counter)}"))


def logged_in_browser(conn: Conn, cfg, scope: str) -> Browser:
    """One citizen logged in, with consent to `scope` remembered (so /authorize answers a code)."""
    browser = Browser(conn)
    path, _verifier, state = authorize_query(cfg, scope, prompt="consent")
    loc, _ = drive_login(browser, cfg, path, cfg["citizens"][0])
    code_from(loc, state)
    return browser


def code_silently(browser: Browser, cfg, scope: str) -> tuple[str, str]:
    path, verifier, state = authorize_query(cfg, scope)
    resp = browser.get(path)
    if resp.status != 302 or not resp.location.startswith(cfg["web"]["redirect_uri"]):
        raise FlowError(f"authorize with a session: {resp.status} {resp.location} {resp.text[:200]!r}")
    return code_from(resp.location, state), verifier


# --- parallel preparation (untimed) -----------------------------------------------------------
def parallel(n: int, threads: int, make_state, produce) -> list:
    """Call produce(state) n times over `threads` threads; return the results."""
    out: list = []
    lock = threading.Lock()
    counter = itertools.count()
    errors: list = []

    def run():
        state = make_state()
        while next(counter) < n:
            try:
                item = produce(state)
            except Exception as exc:
                errors.append(exc)
                if len(errors) > 20:
                    return
                continue
            with lock:
                out.append(item)

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors and len(out) < n * 0.99:
        raise RuntimeError(f"preparation failed ({len(errors)} errors): {errors[0]!r}")
    return out


def issue_cc_tokens(cfg, n: int, threads: int = 8) -> list[str]:
    cc = cfg["cc"]
    auth = basic_auth(cc["client_id"], cc["client_secret"])
    body = urlencode({"grant_type": "client_credentials", "scope": cc["scope"]})

    def produce(conn):
        resp = conn.request("POST", cfg.get("token_path", "/token"), body, {"Authorization": auth})
        expect(resp, 200, "client_credentials", "access_token")
        return resp.json()["access_token"]

    return parallel(n, threads, lambda: Conn(cfg["base"]), produce)


def make_codes(cfg, n: int, scope: str, threads: int = 8) -> list[tuple[str, str]]:
    master = logged_in_browser(Conn(cfg["base"]), cfg, scope)

    def make_state():
        b = Browser(Conn(cfg["base"]))
        b.jar = dict(master.jar)
        return b

    return parallel(n, threads, make_state, lambda b: code_silently(b, cfg, scope))


def issue_user_tokens(cfg, n: int, scope: str, threads: int = 8) -> list[dict]:
    codes = make_codes(cfg, n, scope, threads)
    it = iter(codes)
    lock = threading.Lock()

    def produce(conn):
        with lock:
            code, verifier = next(it)
        return exchange(conn, cfg, code, verifier)

    return parallel(len(codes), threads, lambda: Conn(cfg["base"]), produce)


def make_interactions(cfg, n: int, threads: int = 8) -> list[Browser]:
    """Browsers parked on the login form: cookie jar + the form's hidden fields."""

    def produce(conn):
        browser = Browser(Conn(cfg["base"]))
        path, _verifier, _state = authorize_query(cfg, USER_SCOPE)
        resp = browser.get(path)
        if resp.status in (302, 303):  # a provider that sends the browser to its login page
            resp = browser.get(resp.location)
        expect(resp, 200, "login form (no session)", 'name="password"')
        browser.fields = hidden_fields(resp.text)
        browser.conn.close()
        return browser

    return parallel(n, threads, lambda: None, produce)


# --- the measured loop ------------------------------------------------------------------------
def phase(nthreads: int, seconds: float, make_state, step, server_pids=(), announce=False) -> dict:
    """Closed loop: each thread calls step(state) until the deadline (or a pool runs out)."""
    lat: list[list[float]] = [[] for _ in range(nthreads)]
    errors = [0] * nthreads
    first_error: list[str] = []
    exhausted_at: list[float] = []
    ends = [0.0] * nthreads
    states = [make_state(i) for i in range(nthreads)]
    barrier = threading.Barrier(nthreads + 1)
    window = Window(server_pids)

    def run(i):
        state, mine = states[i], lat[i]
        barrier.wait()
        deadline = start_at[0] + seconds
        perf = time.perf_counter
        while True:
            t0 = perf()
            if t0 >= deadline:
                break
            try:
                step(state)
            except Exhausted:
                exhausted_at.append(t0 - start_at[0])
                break
            except (FlowError, HttpError, ValueError, KeyError) as exc:
                errors[i] += 1
                if not first_error:
                    first_error.append(repr(exc)[:300])
            mine.append(perf() - t0)
        ends[i] = perf()

    start_at = [0.0]
    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(nthreads)]
    for t in ts:
        t.start()
    if announce:
        print(f"@measure {seconds}", flush=True)
    window.start()
    start_at[0] = window.t0
    barrier.wait()
    for t in ts:
        t.join()
    cpu = window.stop()
    elapsed = max(ends) - start_at[0]
    all_lat = sorted(x for per in lat for x in per)
    n = len(all_lat)
    return {
        "rps": round(n / elapsed, 2) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile(all_lat, 50) * 1000, 3) if n else None,
        "p99_ms": round(percentile(all_lat, 99) * 1000, 3) if n else None,
        "requests": n,
        "errors": sum(errors),
        "first_error": first_error[0] if first_error else None,
        "seconds": round(elapsed, 3),
        "exhausted": round(min(exhausted_at), 2) if exhausted_at else None,
        "server_cpu_pct": cpu["server_cpu_pct"],
        "client_cpu_pct": cpu["client_cpu_pct"],
        "other_cpu_pct": cpu["other_cpu_pct"],
        "foreign_cpu_pct": cpu["foreign_cpu_pct"],
        "db_cpu_pct": cpu["db_cpu_pct"],
    }


def pooled(make_pool, step_item, args, cfg, log) -> dict:
    """Warm up on a small pool, size the measured pool from the warm-up rate, measure."""

    def run_phase(pool_items, seconds, announce):
        pool = deque(pool_items)

        def step(conn):
            try:
                item = pool.popleft()
            except IndexError:
                raise Exhausted from None
            step_item(conn, item)

        return phase(args.threads, seconds, lambda i: Conn(cfg["base"]), step, args.server_pids, announce)

    n_warm = max(4 * args.threads, int(args.rate_hint * args.warmup * 1.2) + 2 * args.threads)
    t0 = time.perf_counter()
    warm_pool = make_pool(n_warm)
    log(f"warm-up pool {len(warm_pool)} in {time.perf_counter() - t0:.1f}s")
    warm = run_phase(warm_pool, args.warmup, False)
    log(f"warm-up: {warm['rps']} /s, errors {warm['errors']} {warm['first_error'] or ''}")
    rate = max(warm["rps"], 1.0)
    n = int(math.ceil(rate * args.duration * 1.4)) + 2 * args.threads
    t0 = time.perf_counter()
    pool = make_pool(n)
    log(f"measured pool {len(pool)} in {time.perf_counter() - t0:.1f}s")
    result = run_phase(pool, args.duration, True)
    result["pool"] = len(pool)
    result["warmup_rps"] = warm["rps"]
    return result


# --- the flows --------------------------------------------------------------------------------
def flow_revoke(args, cfg, log):
    cc = cfg["cc"]
    auth = {"Authorization": basic_auth(cc["client_id"], cc["client_secret"])}
    revoked: list[str] = []

    def step(conn, token):
        resp = conn.request(
            "POST", "/revoke", urlencode({"token": token, "token_type_hint": "access_token"}), auth
        )
        expect(resp, 200, "revoke")
        if len(revoked) < 3:
            revoked.append(token)

    result = pooled(lambda n: issue_cc_tokens(cfg, n), step, args, cfg, log)
    # Check that the tokens really are revoked (revocation answers 200 whatever happens).
    conn = Conn(cfg["base"])
    for token in revoked:
        resp = conn.request("POST", "/introspect", urlencode({"token": token}), auth)
        if resp.status != 200 or resp.json().get("active") is not False:
            result["errors"] += 1
            result["first_error"] = f"revoked token still active: {resp.status} {resp.text[:100]}"
    return result


def flow_code(args, cfg, log):
    web = cfg["web"]
    auth = {"Authorization": basic_auth(web["client_id"], web["client_secret"])}

    def step(conn, item):
        code, verifier = item
        body = urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": web["redirect_uri"],
                "code_verifier": verifier,
            }
        )
        expect(conn.request("POST", "/token", body, auth), 200, "code exchange", '"id_token"')

    return pooled(lambda n: make_codes(cfg, n, FULL_SCOPE), step, args, cfg, log)


def flow_login(args, cfg, log):
    citizens = cfg["citizens"]
    counter = itertools.count()

    def step(conn, browser):
        browser.conn = conn
        fields = dict(browser.fields)
        fields.update(identifier=citizens[next(counter) % len(citizens)], password=cfg["password"])
        resp = browser.post("/login", fields)
        # Logged in: the consent page as the answer, or (consent remembered) straight to the portal.
        location = resp.location or ""
        if not (
            (resp.status == 200 and 'name="decision"' in resp.text)
            or (resp.status == 302 and location.startswith(cfg["web"]["redirect_uri"] + "?code="))
        ):
            raise FlowError(f"login POST: {resp.status} {resp.location} {resp.text[:200]!r}")

    return pooled(lambda n: make_interactions(cfg, n), step, args, cfg, log)


def flow_refresh(args, cfg, log):
    web = cfg["web"]
    auth = {"Authorization": basic_auth(web["client_id"], web["client_secret"])}
    token_path = cfg.get("token_path", "/token")
    if cfg.get("peer"):
        tokens = issue_peer_tokens(cfg, 3 * args.threads, FULL_SCOPE)
    else:
        tokens = issue_user_tokens(cfg, 3 * args.threads, FULL_SCOPE)
    spares = deque(t["refresh_token"] for t in tokens[args.threads :])
    rotated = [0, 0]  # answers with a new refresh token, answers

    class Chain:
        def __init__(self, i):
            self.conn = Conn(cfg["base"])
            self.rt = tokens[i]["refresh_token"]

    def step(chain):
        body = urlencode({"grant_type": "refresh_token", "refresh_token": chain.rt})
        resp = chain.conn.request("POST", token_path, body, auth)
        # A provider that does not rotate (the peer, for a confidential client) answers without a
        # new refresh token, or with the same one: the chain goes on with the one it has.
        if resp.status != 200 or '"access_token"' not in resp.text or '"id_token"' not in resp.text:
            chain.rt = spares.popleft()  # the chain broke: start a new one
            raise FlowError(f"refresh: {resp.status} {resp.text[:200]!r}")
        new = resp.json().get("refresh_token")
        rotated[1] += 1
        if new and new != chain.rt:
            rotated[0] += 1
            chain.rt = new
        elif not cfg.get("peer"):
            raise FlowError(f"refresh: no new refresh token: {resp.text[:200]!r}")

    chains = [Chain(i) for i in range(args.threads)]  # the same chains go on after the warm-up
    warm = phase(args.threads, args.warmup, chains.__getitem__, step, args.server_pids)
    log(f"warm-up: {warm['rps']} /s, errors {warm['errors']} {warm['first_error'] or ''}")
    rotated[:] = [0, 0]
    result = phase(args.threads, args.duration, chains.__getitem__, step, args.server_pids, True)
    result["rotated_share"] = round(rotated[0] / rotated[1], 3) if rotated[1] else None
    return result


def flow_full(args, cfg, log):
    """authorize → login form → consent → code → token → userinfo, a fresh browser each time."""
    citizens = cfg["citizens"]
    counter = itertools.count()
    requests = [0]

    def step(conn):
        browser = Browser(conn)
        path, verifier, state = authorize_query(cfg, FULL_SCOPE, prompt="consent")
        loc, n = drive_login(browser, cfg, path, citizens[next(counter) % len(citizens)])
        tokens = exchange(conn, cfg, code_from(loc, state), verifier)
        resp = conn.request(
            "GET", "/userinfo", None, {"Authorization": "Bearer " + tokens["access_token"]}
        )
        expect(resp, 200, "userinfo", '"sub"')
        requests[0] += n + 2

    warm = phase(args.threads, args.warmup, lambda i: Conn(cfg["base"]), step, args.server_pids)
    log(f"warm-up: {warm['rps']} /s, errors {warm['errors']} {warm['first_error'] or ''}")
    requests[0] = 0
    result = phase(args.threads, args.duration, lambda i: Conn(cfg["base"]), step, args.server_pids, True)
    result["http_requests_per_flow"] = round(requests[0] / max(1, result["requests"]), 1)
    return result


FLOWS = {
    "revoke": flow_revoke,
    "code": flow_code,
    "login": flow_login,
    "refresh": flow_refresh,
    "full": flow_full,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prep-tokens")
    p.add_argument("--config", required=True)
    p.add_argument("--kind", choices=["cc", "user", "peer-user"], required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--config", required=True)
    r.add_argument("--flow", choices=sorted(FLOWS), required=True)
    r.add_argument("--threads", type=int, default=8)
    r.add_argument("--warmup", type=float, default=3)
    r.add_argument("--duration", type=float, default=10)
    r.add_argument("--rate-hint", type=float, default=500)
    r.add_argument("--server-pids", default="")
    args = ap.parse_args()
    with open(args.config) as fh:
        cfg = json.load(fh)

    def log(msg):
        print(f"  [{getattr(args, 'flow', args.cmd)}] {msg}", file=sys.stderr, flush=True)

    if args.cmd == "prep-tokens":
        if args.kind == "cc":
            tokens = issue_cc_tokens(cfg, args.n)
        elif args.kind == "peer-user":
            tokens = [t["access_token"] for t in issue_peer_tokens(cfg, args.n, USER_SCOPE)]
            # the peer's store is an LRU: every token must still answer before it joins the pool
            conn = Conn(cfg["base"])
            for token in tokens:
                resp = conn.request("GET", cfg["userinfo_path"], None, {"Authorization": "Bearer " + token})
                expect(resp, 200, "peer userinfo (pool check)", '"sub"')
        else:
            tokens = [t["access_token"] for t in issue_user_tokens(cfg, args.n, USER_SCOPE)]
        with open(args.out, "w") as fh:
            fh.write("\n".join(tokens) + "\n")
        return
    args.server_pids = [int(x) for x in args.server_pids.split(",") if x]
    result = FLOWS[args.flow](args, cfg, log)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
