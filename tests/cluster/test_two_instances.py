"""Two instances, A and B, on two loopback ports, sharing the database and Redis, behind one
issuer: whatever a citizen or a portal started on one instance, the other one carries on.

These run on SQLite too (two processes on one file, as on one machine) and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest
import redis
import requests
from sqlalchemy import select

from idp.extensions import db
from idp.models import SigningKey
from tests.cluster.conftest import REDIS_URL
from tests.cluster.flows import (
    Browser,
    Citizen,
    begin,
    begin_login,
    code_of,
    consent_form,
    expect,
    jwks_at,
    kid_of,
    login_form,
    query_of,
    redeem,
    refresh,
    refresh_response,
    submit_consent,
    submit_login,
    userinfo_response,
    verify_id_token,
)
from tests.cluster.instances import running_cluster, server_errors

LOGIN_LIMIT = 4  # per client IP and minute, counted in Redis by both instances together

# Each test's browser connects from a loopback address of its own (127.0.0.N), so each test has
# its own per-IP login counter and the low limit above bites only where it is meant to.
_addresses = (f"127.0.0.{n}" for n in itertools.count(10))


@pytest.fixture(scope="module")
def cluster(app, cluster_settings, tmp_path_factory):
    # `app` first: it applied the migrations and created the shared key set.
    with running_cluster(
        cluster_settings, tmp_path_factory.mktemp("pair"), "pair", IDP_RATELIMIT_LOGIN=f"{LOGIN_LIMIT}/minute"
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def no_server_errors(cluster):
    """A test fails if either instance logged a traceback or an unexpected error meanwhile."""
    marks = [instance.log_mark() for instance in cluster.instances]
    yield
    for instance, mark in zip(cluster.instances, marks, strict=True):
        errors = server_errors(instance.log_since(mark))
        assert not errors, f"instance {instance.name} logged errors:\n" + "\n".join(errors[:20])


@pytest.fixture
def browser():
    opened = Browser(source=next(_addresses), close=False)
    yield opened
    opened.close()


@pytest.fixture
def citizen(make_citizen) -> Citizen:
    made = make_citizen()
    return Citizen(made["pk"], made["citizen_id"], made["subject"], made["password"])


def log_in_on(browser: Browser, base: str, portal: dict, citizen: Citizen, cluster) -> tuple[dict, dict]:
    """A whole login at one instance: (the authorization parameters, the token response)."""
    params, form = begin_login(browser, base, portal)
    location = submit_login(browser, base, form, citizen)
    location = submit_consent(browser, base, consent_form(browser, base, location))
    code = code_of(location, portal, params, cluster.issuer)
    return params, redeem(browser, base, portal, code, params["_verifier"])


def test_a_login_started_on_a_is_finished_on_b(cluster, portal, citizen, browser):
    a, b = cluster.a.url, cluster.b.url

    params, form = begin_login(browser, a, portal)  # A parks the request; A's form, A's CSRF token
    location = submit_login(browser, b, form, citizen)  # B accepts both, checks the password
    # Back on A: A's consent page knows the session B started.
    location = submit_consent(browser, a, consent_form(browser, a, location))
    code = code_of(location, portal, params, cluster.issuer)  # iss: the shared issuer
    tokens = redeem(browser, b, portal, code, params["_verifier"])  # a code A issued, redeemed at B

    jwks_b, _ = jwks_at(b)
    claims = verify_id_token(
        tokens["id_token"],
        jwks_b,
        issuer=cluster.issuer,
        client_id=portal["client_id"],
        nonce=params["nonce"],
    )
    assert claims["sub"] == citizen.subject
    info = expect("userinfo on A", userinfo_response(browser, a, tokens["access_token"]), 200)
    assert info.json()["sub"] == citizen.subject


def test_a_session_created_on_a_is_recognised_by_b(cluster, portal, citizen, browser):
    a, b = cluster.a.url, cluster.b.url
    _, first = log_in_on(browser, a, portal, citizen, cluster)
    jwks, _ = jwks_at(b)
    first_claims = verify_id_token(
        first["id_token"], jwks, issuer=cluster.issuer, client_id=portal["client_id"]
    )

    # B knows the citizen from the cookie A set: no login page, no consent page, a code at once.
    params, location = begin(browser, b, portal, prompt="none")
    code = code_of(location, portal, params, cluster.issuer)
    again = redeem(browser, b, portal, code, params["_verifier"])
    claims = verify_id_token(
        again["id_token"], jwks, issuer=cluster.issuer, client_id=portal["client_id"], nonce=params["nonce"]
    )
    assert (claims["sid"], claims["auth_time"]) == (first_claims["sid"], first_claims["auth_time"])
    home = expect("home on B", browser.get(b, "/"), 200)
    assert "Trần Thị Bình" in home.text or "Lê Văn Cường" in home.text  # make_citizen's names

    # Logging out on B ends the session for A too, even for a browser that kept the cookie.
    cookie = browser.session_cookie
    logout = browser.get(
        b,
        "/logout",
        id_token_hint=again["id_token"],
        post_logout_redirect_uri=portal["post_logout_redirect_uri"],
        state="bye",
    )
    assert logout.status_code == 302, logout.text[:300]
    assert logout.headers["Location"].startswith(portal["post_logout_redirect_uri"])
    browser.http.cookies.set("tnid_session", cookie)
    params, location = begin(browser, a, portal, prompt="none")
    assert query_of(location).get("error") == "login_required", location


def test_a_rotation_done_through_a_is_served_by_b_within_the_bound(app, cluster, portal, citizen, browser):
    a, b = cluster.a.url, cluster.b.url
    bound = cluster.settings.key_cache_seconds
    _, tokens = log_in_on(browser, a, portal, citizen, cluster)
    with app.app_context():
        states = {
            row.state: row.kid
            for row in db.session.scalars(
                select(SigningKey).where(SigningKey.alg == "RS256", SigningKey.state.in_(["active", "next"]))
            )
        }
        db.session.remove()
    assert kid_of(tokens["id_token"]) == states["active"]
    jwks_b, response = jwks_at(b)
    assert response.headers["Cache-Control"] == f"public, max-age={cluster.settings.jwks_max_age}"
    assert states["next"] in {key["kid"] for key in jwks_b["keys"]}, "pre-published before it signs"

    rotated = cluster.run_idp("keys", "rotate", "--force")
    done = time.monotonic()
    assert rotated.returncode == 0, rotated.stderr
    assert f"activated {states['next']} RS256" in " ".join(rotated.stdout.split()), rotated.stdout

    # B notices by itself (no restart, nothing sent to it): within IDP_KEY_CACHE_SECONDS.
    while True:
        tokens = refresh(browser, b, portal, tokens["refresh_token"])
        if kid_of(tokens["id_token"]) == states["next"]:
            break
        assert time.monotonic() - done < bound + 3, f"B still signs with the old key after {bound + 3} s"
        time.sleep(0.05)
    waited = time.monotonic() - done
    assert waited <= bound + 1.5, f"B took {waited:.2f} s to sign with the new key (bound: {bound} s)"

    with app.app_context():
        fresh_next = db.session.scalar(
            select(SigningKey.kid).where(SigningKey.alg == "RS256", SigningKey.state == "next")
        )
        db.session.remove()
    for base in (b, a):
        jwks, _ = jwks_at(base)
        published = {key["kid"] for key in jwks["keys"]}
        assert {states["active"], states["next"], fresh_next} <= published  # retired, active, next
        verify_id_token(tokens["id_token"], jwks, issuer=cluster.issuer, client_id=portal["client_id"])
    assert kid_of(refresh(browser, a, portal, tokens["refresh_token"])["id_token"]) == states["next"]


def test_a_refresh_token_used_on_a_cannot_be_replayed_on_b(cluster, portal, citizen, browser):
    a, b = cluster.a.url, cluster.b.url
    _, tokens = log_in_on(browser, b, portal, citizen, cluster)
    stolen = tokens["refresh_token"]
    renewed = refresh(browser, a, portal, stolen)

    replay = refresh_response(browser, b, portal, stolen)

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant", replay.text
    # The reuse revoked the whole login, on every instance.
    assert refresh_response(browser, b, portal, renewed["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo_response(browser, a, renewed["access_token"]).status_code == 401


def test_one_refresh_token_sent_to_a_and_b_at_the_same_moment_is_honoured_once(
    cluster, portal, make_citizen, browser
):
    a, b = cluster.a.url, cluster.b.url
    for _ in range(3):
        made = make_citizen()
        citizen = Citizen(made["pk"], made["citizen_id"], made["subject"], made["password"])
        browser.http.cookies.clear()
        _, tokens = log_in_on(browser, a, portal, citizen, cluster)
        start = threading.Barrier(2)
        answers: dict[str, requests.Response] = {}

        def send(base, name, token=tokens["refresh_token"], start=start, answers=answers):
            racer = Browser()
            start.wait()
            answers[name] = refresh_response(racer, base, portal, token)
            racer.close()

        racers = [threading.Thread(target=send, args=(base, name)) for base, name in ((a, "A"), (b, "B"))]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=30)

        statuses = sorted(response.status_code for response in answers.values())
        assert statuses == [200, 400], {n: (r.status_code, r.text[:200]) for n, r in answers.items()}
        winner = next(r for r in answers.values() if r.status_code == 200).json()
        loser = next(r for r in answers.values() if r.status_code == 400).json()
        assert loser["error"] == "invalid_grant"
        # The second presentation is a reuse: the winner's new tokens are revoked as well.
        assert refresh_response(browser, b, portal, winner["refresh_token"]).status_code == 400
        assert userinfo_response(browser, a, winner["access_token"]).status_code == 401


def test_rate_limits_count_across_both_instances(cluster, citizen, browser):
    a, b = cluster.a.url, cluster.b.url

    def log_in_at(base: str, who: Browser = browser) -> requests.Response:
        form = login_form(who, base, "/login")
        return who.post(
            base, "/login", {**form, "identifier": citizen.citizen_id, "password": citizen.password}
        )

    for base in itertools.islice(itertools.cycle((a, b)), LOGIN_LIMIT):
        assert log_in_at(base).status_code == 303

    for base in (a, b):  # the limit is spent, whichever instance is asked
        refused = log_in_at(base)
        assert refused.status_code == 429, f"{base}: {refused.status_code} {refused.text[:200]}"
        assert int(refused.headers["Retry-After"]) > 0
    other = Browser(source=next(_addresses), close=False)
    assert log_in_at(b, other).status_code == 303, "another client IP has its own count"
    other.close()
    prefix = cluster.settings.ratelimit_prefix
    assert any(redis.Redis.from_url(REDIS_URL).scan_iter(f"*{prefix}*")), "the counters live in Redis"
