"""Citizens' flows over real HTTP, step by step, each step addressed to a chosen instance (or the
proxy); a load generator that runs whole flows on threads; and the checks made on the database
afterwards: nothing a completed flow created is missing, and nothing is half-written.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin

import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from requests.adapters import HTTPAdapter
from sqlalchemy import select

from idp.credentials import token_hash
from idp.extensions import db
from idp.identity import cccd, citizens
from idp.models import AuditEvent, AuthorizationCode, BrowserSession, Consent, Token
from idp.oauth import clients
from tests.conftest import PASSWORD
from tests.support import authorize_params, hidden_fields, query_of, without_private

SCOPE = "openid profile offline_access"
TIMEOUT = 15  # per request: generous, and far above any answer a healthy instance gives
SESSION_COOKIE = "tnid_session"


# --- people and portals ---------------------------------------------------------------------
@dataclass(frozen=True)
class Citizen:
    pk: int
    citizen_id: str
    subject: str
    password: str = PASSWORD


class _OneHash:
    """Stands in for Passwords when creating many citizens: one Argon2 hash (made with the
    instances' own parameters) for all of them, instead of one per citizen."""

    def __init__(self, passwords) -> None:
        self._hash = passwords.hash(PASSWORD)

    def hash(self, _password: str) -> str:
        return self._hash


def create_citizens(app, count: int) -> list[Citizen]:
    """``count`` synthetic citizens, with the password tests.conftest.PASSWORD, in one transaction."""
    rng = random.Random()
    hasher = _OneHash(app.extensions["idp"].passwords)
    made, numbers = [], set()
    with app.app_context():
        while len(made) < count:
            birth = dt.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
            gender = rng.choice(["male", "female"])
            number = cccd.synthetic(birth, gender, rng)
            if number in numbers:
                continue
            numbers.add(number)
            row = citizens.create(
                citizens.NewCitizen(
                    citizen_id=number,
                    birth_date=birth,
                    gender=gender,
                    full_name="Hoàng Văn Đức",
                    password=PASSWORD,
                    phone=None,
                    email=None,
                ),
                hasher,
            )
            made.append(row)
        db.session.commit()
        result = [Citizen(row.id, row.citizen_id, row.subject) for row in made]
        db.session.remove()
    return result


def register_portal(app) -> dict:
    """A confidential portal allowed offline_access, registered as `idp clients create` does (for
    an app other than the suite's, where tests/conftest.py's make_portal cannot reach)."""
    with app.app_context():
        row, secret = clients.register(
            clients.ClientSpec(
                name="Cổng thử nghiệm",
                redirect_uris=["https://portal.example/callback"],
                post_logout_redirect_uris=["https://portal.example/"],
                scopes=SCOPE.split(),
            )
        )
        db.session.commit()
        portal = {
            "client_id": row.client_id,
            "client_secret": secret,
            "redirect_uri": row.redirect_uris[0],
            "post_logout_redirect_uri": row.post_logout_redirect_uris[0],
        }
        db.session.remove()
    return portal


# --- one browser (and the portal's back channel) -----------------------------------------------
class SourceAddress(HTTPAdapter):
    """Connect from a chosen loopback address (127.0.0.N): a client IP of its own for rate limits."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


class Dropped(Exception):
    """The connection failed: no answer came back (the instance died under the request)."""


class Unexpected(AssertionError):
    """An answer that a healthy provider would not give at this step."""

    def __init__(self, step: str, response: requests.Response) -> None:
        self.status = response.status_code
        self.response = response
        super().__init__(
            f"{step}: {response.request.method} {response.request.path_url} answered {response.status_code} "
            f"{response.headers.get('Location', '')} {response.text[:300]!r}"
        )


@dataclass(frozen=True)
class Exchange:
    """One request and its answer (or its failure), for the checks made after a fault."""

    started: float
    ended: float
    method: str
    path: str
    status: int | None  # None: the connection failed
    retry_after: str | None = None
    content_type: str = ""
    body: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def _session(source: str | None, close: bool) -> requests.Session:
    http = requests.Session()
    if close:
        # One request per connection: the proxy balances each request, not each browser.
        http.headers["Connection"] = "close"
    if source:
        adapter = SourceAddress(source)
        http.mount("http://", adapter)
    return http


class Browser:
    """A citizen's browser (cookies) plus the portal's server (no cookies), logging every exchange."""

    def __init__(self, *, source: str | None = None, close: bool = True) -> None:
        self.http = _session(source, close)
        self.backchannel = _session(source, close)
        self.log: list[Exchange] = []

    def close(self) -> None:
        self.http.close()
        self.backchannel.close()

    @property
    def session_cookie(self) -> str | None:
        return self.http.cookies.get(SESSION_COOKIE)

    def get(self, base: str, url: str, **params) -> requests.Response:
        return self._send(self.http, "GET", urljoin(base + "/", url), params=params or None)

    def post(self, base: str, url: str, data: dict, **kwargs) -> requests.Response:
        return self._send(self.http, "POST", urljoin(base + "/", url), data=data, **kwargs)

    def portal_post(self, base: str, url: str, data: dict, **kwargs) -> requests.Response:
        return self._send(self.backchannel, "POST", urljoin(base + "/", url), data=data, **kwargs)

    def portal_get(self, base: str, url: str, **kwargs) -> requests.Response:
        return self._send(self.backchannel, "GET", urljoin(base + "/", url), **kwargs)

    def _send(self, http: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
        started = time.monotonic()
        path = url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        try:
            response = http.request(method, url, allow_redirects=False, timeout=TIMEOUT, **kwargs)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            self.log.append(Exchange(started, time.monotonic(), method, "/" + path, None))
            raise Dropped(f"{method} /{path}: {exc.__class__.__name__}") from exc
        self.log.append(
            Exchange(
                started,
                time.monotonic(),
                method,
                "/" + path,
                response.status_code,
                response.headers.get("Retry-After"),
                response.headers.get("Content-Type", ""),
                response.text[:500],
            )
        )
        return response


def expect(step: str, response: requests.Response, *statuses: int) -> requests.Response:
    if response.status_code not in statuses:
        raise Unexpected(step, response)
    return response


# --- the steps of a login, each at the base URL the caller chooses ---------------------------
def begin(browser: Browser, base: str, portal: dict, **extra) -> tuple[dict, str]:
    """GET /authorize: (the request's parameters, where the provider sends the browser next)."""
    params = authorize_params(portal, scope=SCOPE, **extra)
    response = expect("authorize", browser.get(base, "/authorize", **without_private(params)), 302, 303)
    return params, response.headers["Location"]


def begin_login(browser: Browser, base: str, portal: dict, **extra) -> tuple[dict, dict]:
    """GET /authorize without a session: (the request's parameters, the hidden fields of the login
    form the provider shows at once: CSRF token, interaction id)."""
    params = authorize_params(portal, scope=SCOPE, **extra)
    page = expect("authorize", browser.get(base, "/authorize", **without_private(params)), 200)
    assert 'name="password"' in page.text, page.text[:300]
    return params, hidden_fields(page.text)


def login_form(browser: Browser, base: str, location: str) -> dict:
    """GET the login page: its hidden fields (CSRF token, interaction id)."""
    page = expect("login page", browser.get(base, location), 200)
    assert 'name="password"' in page.text, page.text[:300]
    return hidden_fields(page.text)


def submit_login(browser: Browser, base: str, form: dict, citizen: Citizen) -> str:
    """POST /login: where the browser goes next. The consent page is the answer itself; its own
    address (GET /consent for the same request, at any instance) is returned for it."""
    data = {**form, "identifier": citizen.citizen_id, "password": citizen.password}
    response = expect("login", browser.post(base, "/login", data), 200, 302, 303)
    if response.status_code == 200:
        assert 'name="decision"' in response.text, response.text[:300]
        return "/consent?" + urlencode({"interaction": hidden_fields(response.text)["interaction"]})
    return response.headers["Location"]


def consent_form(browser: Browser, base: str, location: str) -> dict:
    page = expect("consent page", browser.get(base, location), 200)
    assert 'name="decision"' in page.text, page.text[:300]
    return hidden_fields(page.text)


def submit_consent(browser: Browser, base: str, form: dict) -> str:
    """POST /consent (allow): the redirect to the portal."""
    return expect("consent", browser.post(base, "/consent", {**form, "decision": "allow"}), 302).headers[
        "Location"
    ]


def code_of(location: str, portal: dict, params: dict, issuer: str) -> str:
    assert location.startswith(portal["redirect_uri"] + "?"), location
    answer = query_of(location)
    assert answer.get("state") == params["state"] and answer.get("iss") == issuer, answer
    assert "code" in answer, answer
    return answer["code"]


def redeem(browser: Browser, base: str, portal: dict, code: str, verifier: str) -> dict:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": portal["redirect_uri"],
        "code_verifier": verifier,
    }
    response = browser.portal_post(base, "/token", data, auth=(portal["client_id"], portal["client_secret"]))
    return expect("token (code)", response, 200).json()


def refresh_response(browser: Browser, base: str, portal: dict, refresh_token: str) -> requests.Response:
    return browser.portal_post(
        base,
        "/token",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(portal["client_id"], portal["client_secret"]),
    )


def refresh(browser: Browser, base: str, portal: dict, refresh_token: str) -> dict:
    return expect("token (refresh)", refresh_response(browser, base, portal, refresh_token), 200).json()


def userinfo_response(browser: Browser, base: str, access_token: str) -> requests.Response:
    return browser.portal_get(base, "/userinfo", headers={"Authorization": f"Bearer {access_token}"})


# --- whole flows ------------------------------------------------------------------------------
@dataclass
class Flow:
    """What one citizen's login produced, and how far it got."""

    citizen: Citizen
    started: float = 0.0
    ended: float = 0.0
    steps: list[str] = field(default_factory=list)
    error: Exception | None = None
    session_cookie: str | None = None
    code: str | None = None
    tokens: dict = field(default_factory=dict)  # the latest token response
    log: list[Exchange] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.error is None and "userinfo" in self.steps

    @property
    def dropped(self) -> bool:
        return isinstance(self.error, Dropped)


def run_flow(base: str, portal: dict, citizen: Citizen, issuer: str, refreshes: int = 2) -> Flow:
    """A whole login at ``base``: authorize, login, consent, code → tokens, refreshes, userinfo.
    Stops at the first failure, which it records (never retried: see proxy.py)."""
    flow = Flow(citizen, started=time.monotonic())
    browser = Browser()
    try:
        params, form = begin_login(browser, base, portal)
        flow.steps.append("authorize")
        location = submit_login(browser, base, form, citizen)
        flow.session_cookie = browser.session_cookie
        flow.steps.append("login")
        location = submit_consent(browser, base, consent_form(browser, base, location))
        flow.steps.append("consent")
        flow.code = code_of(location, portal, params, issuer)
        flow.tokens = redeem(browser, base, portal, flow.code, params["_verifier"])
        flow.steps.append("token")
        for _ in range(refreshes):
            flow.tokens = refresh(browser, base, portal, flow.tokens["refresh_token"])
            flow.steps.append("refresh")
        response = expect("userinfo", userinfo_response(browser, base, flow.tokens["access_token"]), 200)
        assert response.json()["sub"] == citizen.subject
        flow.steps.append("userinfo")
    except (Dropped, Unexpected) as exc:
        flow.error = exc
    finally:
        flow.ended = time.monotonic()
        flow.log = browser.log
        browser.close()
    return flow


class LoadGenerator:
    """``threads`` threads, each running whole flows back to back (one fresh citizen per flow, so
    each flow also gives a consent) until stopped or out of citizens."""

    def __init__(
        self,
        base: str,
        portal: dict,
        people: list[Citizen],
        issuer: str,
        *,
        threads: int,
        refreshes: int = 2,
        pause_after_failure: float = 0.05,
    ) -> None:
        self.base, self.portal, self.issuer = base, portal, issuer
        self.refreshes, self.pause_after_failure = refreshes, pause_after_failure
        self._people = iter(people)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.flows: list[Flow] = []
        self._threads = [
            threading.Thread(target=self._work, name=f"load-{i}", daemon=True) for i in range(threads)
        ]

    def _next_citizen(self) -> Citizen | None:
        with self._lock:
            return next(self._people, None)

    def _work(self) -> None:
        while not self._stop.is_set():
            citizen = self._next_citizen()
            if citizen is None:
                return
            flow = run_flow(self.base, self.portal, citizen, self.issuer, self.refreshes)
            with self._lock:
                self.flows.append(flow)
            if flow.error is not None:
                time.sleep(self.pause_after_failure)

    def start(self) -> LoadGenerator:
        for thread in self._threads:
            thread.start()
        return self

    def completed_count(self) -> int:
        with self._lock:
            return sum(f.completed for f in self.flows)

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.05)

    def stop(self) -> list[Flow]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2 * TIMEOUT + 10)
            assert not thread.is_alive(), "a load thread is stuck"
        return self.flows


# --- after the fact: nothing lost ------------------------------------------------------------
def missing_from_database(app, flows: list[Flow], portal: dict) -> list[str]:
    """For each completed flow: its session, its consent and its latest tokens are in the
    database, live. Returns one line per thing missing."""
    problems = []
    with app.app_context():
        for flow in flows:
            who = f"citizen {flow.citizen.pk}"
            session = db.session.scalar(
                select(BrowserSession).where(BrowserSession.session_hash == token_hash(flow.session_cookie))
            )
            if session is None or session.ended_at is not None:
                problems.append(f"{who}: session {'missing' if session is None else 'ended'}")
            consent = db.session.scalar(
                select(Consent).where(
                    Consent.citizen_pk == flow.citizen.pk, Consent.client_id == portal["client_id"]
                )
            )
            if consent is None or not set(SCOPE.split()) <= set(consent.scopes):
                problems.append(f"{who}: consent {'missing' if consent is None else consent.scopes}")
            for kind, value in (
                ("access", flow.tokens["access_token"]),
                ("refresh", flow.tokens["refresh_token"]),
            ):
                row = db.session.scalar(select(Token).where(Token.token_hash == token_hash(value)))
                if (
                    row is None
                    or row.revoked_at is not None
                    or (kind == "refresh" and row.used_at is not None)
                ):
                    problems.append(f"{who}: latest {kind} token {'missing' if row is None else 'not live'}")
        db.session.remove()
    return problems


def still_works(base: str, portal: dict, flow: Flow, issuer: str) -> list[str]:
    """At ``base``: the latest access token gets UserInfo, the latest refresh token refreshes, and
    the browser's session logs it in to the portal again without a password (prompt=none)."""
    problems, who = [], f"citizen {flow.citizen.pk}"
    browser = Browser()
    try:
        info = userinfo_response(browser, base, flow.tokens["access_token"])
        if info.status_code != 200 or info.json().get("sub") != flow.citizen.subject:
            problems.append(f"{who}: userinfo answered {info.status_code}")
        renewed = refresh_response(browser, base, portal, flow.tokens["refresh_token"])
        if renewed.status_code != 200:
            problems.append(f"{who}: refresh answered {renewed.status_code} {renewed.text[:200]}")
        else:
            flow.tokens = renewed.json()  # the portal keeps the new pair
        browser.http.cookies.set(SESSION_COOKIE, flow.session_cookie)
        params, location = begin(browser, base, portal, prompt="none")
        if not location.startswith(portal["redirect_uri"]) or "code" not in query_of(location):
            problems.append(f"{who}: the session was not recognised: {location[:200]}")
        else:
            code_of(location, portal, params, issuer)
    except (Dropped, Unexpected) as exc:
        problems.append(f"{who}: {exc}")
    finally:
        browser.close()
    return problems


def check_all_still_work(base: str, portal: dict, flows: list[Flow], issuer: str) -> list[str]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(
            itertools.chain.from_iterable(pool.map(lambda f: still_works(base, portal, f, issuer), flows))
        )


# --- after the fact: nothing half-written -----------------------------------------------------
def half_written(app, client_ids: set[str]) -> list[str]:
    """Every multi-row change the provider makes in one request is in one transaction, so these
    hold after any crash or outage, whatever was in flight. One line per violation.

    - each authorization code has exactly one ``code_issued`` event (same grant), and vice versa;
    - a code is consumed ⇔ it has one ``code_redeemed`` event ⇔ its grant has tokens;
    - per grant: access tokens = ``tokens_issued`` + ``tokens_refreshed`` events; refresh tokens =
      those events that say a refresh token was issued; used refresh tokens = ``tokens_refreshed``
      events (each rotation marks exactly one token used and issues its successors);
    - per citizen: browser sessions = ``login_succeeded`` events;
    - per (citizen, portal): a consent row ⇔ at least one ``consent_given`` event.
    """
    problems: list[str] = []
    with app.app_context():
        codes = db.session.scalars(
            select(AuthorizationCode).where(AuthorizationCode.client_id.in_(client_ids))
        ).all()
        tokens = db.session.scalars(select(Token).where(Token.client_id.in_(client_ids))).all()
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.client_id.in_(client_ids))).all()
        citizen_pks = {c.citizen_pk for c in codes} | {e.citizen_pk for e in events if e.citizen_pk}
        sessions = db.session.scalars(
            select(BrowserSession).where(BrowserSession.citizen_pk.in_(citizen_pks))
        ).all()
        consents = db.session.scalars(select(Consent).where(Consent.client_id.in_(client_ids))).all()
        db.session.remove()

    by_type: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in events:
        by_type[event.event_type].append(event)

    def per_grant(kind: str, when=lambda e: True) -> Counter:
        return Counter(e.details.get("grant_id") for e in by_type[kind] if when(e))

    issued_events = per_grant("code_issued")
    redeemed_events = per_grant("code_redeemed")
    code_grants = Counter(c.grant_id for c in codes)
    if issued_events != code_grants:
        problems.append(
            f"codes without their code_issued event or the reverse: "
            f"{(issued_events - code_grants) + (code_grants - issued_events)}"
        )
    access = Counter(t.grant_id for t in tokens if t.kind == "access")
    refresh = Counter(t.grant_id for t in tokens if t.kind == "refresh")
    used = Counter(t.grant_id for t in tokens if t.kind == "refresh" and t.used_at is not None)
    for code in codes:
        consumed = code.consumed_at is not None
        if consumed != (redeemed_events[code.grant_id] == 1) or redeemed_events[code.grant_id] > 1:
            problems.append(
                f"grant {code.grant_id}: consumed={consumed} but "
                f"{redeemed_events[code.grant_id]} code_redeemed events"
            )
        if consumed != (access[code.grant_id] > 0):
            problems.append(
                f"grant {code.grant_id}: consumed={consumed} but {access[code.grant_id]} access tokens"
            )
    token_events = per_grant("tokens_issued") + per_grant("tokens_refreshed")
    with_refresh = per_grant("tokens_issued", lambda e: e.details.get("refresh_token_issued")) + per_grant(
        "tokens_refreshed", lambda e: e.details.get("refresh_token_issued")
    )
    refreshed = per_grant("tokens_refreshed")
    for grant in set(access) | set(token_events) | set(refresh) | set(used):
        if access[grant] != token_events[grant]:
            problems.append(
                f"grant {grant}: {access[grant]} access tokens, {token_events[grant]} token events"
            )
        if refresh[grant] != with_refresh[grant]:
            problems.append(f"grant {grant}: {refresh[grant]} refresh tokens, {with_refresh[grant]} events")
        if used[grant] != refreshed[grant]:
            problems.append(f"grant {grant}: {used[grant]} used refresh tokens, {refreshed[grant]} refreshes")
    logins = Counter(e.citizen_pk for e in by_type["login_succeeded"])
    # login_succeeded carries the portal's client_id; a session belongs to the citizen.
    session_count = Counter(s.citizen_pk for s in sessions)
    for pk in set(logins) | set(session_count):
        if logins[pk] != session_count[pk]:
            problems.append(
                f"citizen {pk}: {session_count[pk]} sessions, {logins[pk]} login_succeeded events"
            )
    given = {(e.citizen_pk, e.client_id) for e in by_type["consent_given"]}
    stored = {(c.citizen_pk, c.client_id) for c in consents}
    if given != stored:
        problems.append(f"consents without consent_given events or the reverse: {given ^ stored}")
    return problems


# --- ID tokens, as a portal checks them ------------------------------------------------------
def jwks_at(base: str) -> tuple[dict, requests.Response]:
    response = requests.get(base + "/jwks.json", timeout=TIMEOUT)
    assert response.status_code == 200, response.text[:300]
    return response.json(), response


def kid_of(id_token: str) -> str:
    """The kid in the JWS header (read without verifying: to see which key signed)."""
    return json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "==="))["kid"]


def verify_id_token(
    id_token: str, jwks: dict, *, issuer: str, client_id: str, nonce: str | None = None
) -> dict:
    """Signature against ``jwks`` (the JWKS a portal fetched), then iss, aud, exp, nonce."""
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    expected = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }
    if nonce is not None:
        expected["nonce"] = {"essential": True, "value": nonce}
    jwt.JWTClaimsRegistry(**expected).validate(token.claims)
    return token.claims
