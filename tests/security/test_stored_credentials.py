"""Tokens, codes and session cookies: the database keeps only a key derived from each value (its
issue time and a SHA-256), never the value itself; the keys sort by issue time so that new rows go
to the end of their unique index; and credentials issued before that form existed still work."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time

from sqlalchemy import select, update

from idp.credentials import ACCESS_TOKEN_PREFIX, new_ordered_token, token_hash
from idp.extensions import db
from idp.models import BrowserSession, Token
from tests.http.test_introspection_revocation import introspect
from tests.http.test_login_pages import SESSION_COOKIE
from tests.http.test_refresh import OFFLINE, refresh
from tests.http.test_tokens import bearer, sign_in

ORDERED = re.compile(r"tnid_(at|rt)_([0-9a-f]{12})\.([A-Za-z0-9_-]{43})")


def test_issued_tokens_carry_their_issue_time_and_256_random_bits(client, make_citizen, make_portal):
    before = time.time_ns() // 1_000_000
    tokens = sign_in(client, make_citizen(), make_portal(), scope=OFFLINE)
    after = time.time_ns() // 1_000_000

    for value in (tokens["access_token"], tokens["refresh_token"]):
        shape = ORDERED.fullmatch(value)
        assert shape is not None, value
        assert before <= int(shape.group(2), 16) <= after
        assert len(base64.urlsafe_b64decode(shape.group(3) + "=")) == 32


def test_the_database_holds_keys_that_cannot_be_presented(app, client, make_citizen, make_portal):
    tokens = sign_in(client, make_citizen(), make_portal(), scope=OFFLINE)

    with app.app_context():
        stored = set(db.session.scalars(select(Token.token_hash)))
    for value in (tokens["access_token"], tokens["refresh_token"]):
        key = value[8:20] + base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest())[:43].decode()
        assert key in stored and len(key) <= 64
        random_part = value.split(".", 1)[1]
        assert not any(random_part in row for row in stored)


def test_later_credentials_sort_after_earlier_ones():
    earlier = [token_hash(new_ordered_token(ACCESS_TOKEN_PREFIX)) for _ in range(50)]
    time.sleep(0.002)
    later = [token_hash(new_ordered_token(ACCESS_TOKEN_PREFIX)) for _ in range(50)]

    assert max(earlier) < min(later)
    assert len(set(earlier + later)) == 100


def test_the_login_session_cookie_is_stored_as_a_time_ordered_key(app, client, make_citizen, make_portal):
    sign_in(client, make_citizen(), make_portal())
    cookie = client.get_cookie(SESSION_COOKIE)

    with app.app_context():
        key = token_hash(cookie.value)
        row = db.session.scalar(select(BrowserSession).where(BrowserSession.session_hash == key))
    assert cookie.value.startswith("tnid_ss_") and row is not None
    assert row.session_hash.startswith(cookie.value[8:20]) and cookie.value not in row.session_hash


# --- credentials issued before the upgrade --------------------------------------------------------
def _as_issued_before_the_upgrade(app, value: str) -> str:
    """Rewrite the row of ``value`` as an older release stored it: a value without its issue
    time, keyed by its hex SHA-256. Returns the older-form value."""
    old_form = value[:8] + secrets.token_urlsafe(32)
    with app.app_context():
        db.session.execute(
            update(Token)
            .where(Token.token_hash == token_hash(value))
            .values(token_hash=hashlib.sha256(old_form.encode()).hexdigest())
        )
        db.session.commit()
    return old_form


def test_an_access_token_of_the_older_form_still_works(app, client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)
    old = _as_issued_before_the_upgrade(app, tokens["access_token"])

    assert client.get("/userinfo", headers=bearer(old)).get_json()["sub"] == citizen["subject"]
    assert introspect(client, portal, old).get_json()["active"] is True
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401


def test_a_refresh_token_of_the_older_form_still_rotates(app, client, make_citizen, make_portal):
    portal = make_portal()
    tokens = sign_in(client, make_citizen(), portal, scope=OFFLINE)
    old = _as_issued_before_the_upgrade(app, tokens["refresh_token"])

    response = refresh(client, portal, old)

    assert response.status_code == 200, response.get_json()
    assert ORDERED.fullmatch(response.get_json()["refresh_token"])
    assert refresh(client, portal, old).get_json()["error"] == "invalid_grant"  # used: reuse detected
