"""The browser's signed cookie state: what is signed reads back; a changed byte, another key, or
an old cookie reads as nothing (a fresh, empty session), never as what an attacker wrote."""

import base64
import time

import pytest
from itsdangerous import BadSignature, SignatureExpired

from idp.identity.server_keys import derive
from idp.web.cookie_session import PURPOSE, SignedCookie


def _key(secret: str) -> bytes:
    return derive(PURPOSE, secret)

STATE = {"csrf_token": "a1b2c3", "mfa": {"c": 7, "t": 1796500000, "i": None}, "codes": [1, 2]}


def cookie(secret: str = "current-secret") -> SignedCookie:  # noqa: S107 - a test key
    return SignedCookie([_key(secret)])


def test_what_is_signed_reads_back():
    assert cookie().loads(cookie().dumps(STATE), max_age=60) == STATE


def test_vietnamese_text_survives():
    value = cookie().dumps({"name": "Nguyễn Thị Hồng Nhung"})
    assert cookie().loads(value)["name"] == "Nguyễn Thị Hồng Nhung"


def test_a_changed_payload_is_refused():
    _payload, issued, signature = cookie().dumps(STATE).split(".")
    forged = base64.urlsafe_b64encode(b'{"csrf_token":"mine"}').rstrip(b"=").decode()

    with pytest.raises(BadSignature):
        cookie().loads(f"{forged}.{issued}.{signature}")


def test_a_changed_time_is_refused():
    payload, issued, signature = cookie().dumps(STATE).split(".")

    with pytest.raises(BadSignature):
        cookie().loads(f"{payload}.{int(issued) + 86400}.{signature}")


def test_another_keys_cookie_is_refused():
    with pytest.raises(BadSignature):
        cookie("current-secret").loads(cookie("someone-elses-secret").dumps(STATE))


@pytest.mark.parametrize("junk", ["", ".", "..", "abc", "a.b.c", "a.b.!!!", "é.é.é", "a.1." + "A" * 43])
def test_junk_is_refused_cleanly(junk):
    with pytest.raises(BadSignature):
        cookie().loads(junk)


def test_a_cookie_older_than_the_session_lifetime_is_refused(monkeypatch):
    value = cookie().dumps(STATE)
    monkeypatch.setattr(time, "time", lambda: int(value.split(".")[1]) + 3601)

    with pytest.raises(SignatureExpired):
        cookie().loads(value, max_age=3600)


def test_a_fallback_key_still_reads_the_cookies_it_signed():
    rotated = SignedCookie([_key("new-secret"), _key("old-secret")])

    assert rotated.loads(cookie("old-secret").dumps(STATE)) == STATE
    # …and what is signed from now on is signed with the new key.
    assert SignedCookie([_key("new-secret")]).loads(rotated.dumps(STATE)) == STATE
