"""The Device Authorization Grant (RFC 8628): a kiosk asks, the citizen confirms on their phone
with the user code, the kiosk polls for its tokens."""

from __future__ import annotations

import pytest

from idp import clock
from tests.http.test_logout import parts
from tests.http.test_tokens import error_of
from tests.support import FlaskBrowser, hidden_fields

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def kiosk(make_portal):
    return make_portal(name="Kiosk Trung tâm hành chính công", public=True, redirect_uris=[],
                       post_logout_redirect_uris=[], grant_types=[GRANT])


def start(client, kiosk: dict, scope: str = "openid profile") -> dict:
    response = client.post("/device_authorization", data={"client_id": kiosk["client_id"], "scope": scope})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def poll(client, kiosk: dict, device_code: str):
    return client.post("/token", data={"grant_type": GRANT, "device_code": device_code,
                                       "client_id": kiosk["client_id"]})


def confirm_on_phone(client, citizen: dict, user_code: str, decision: str = "allow"):
    """The citizen opens the link from the kiosk's QR code, logs in, and answers."""
    phone = FlaskBrowser(client)
    page = phone.get("/device", user_code=user_code)
    if page.status == 303:  # not logged in yet: the login, then back to the code
        login_page = phone.get(page.location)
        fields = hidden_fields(login_page.text)
        page = phone.post("/login", {**fields, "identifier": citizen["citizen_id"],
                                     "password": citizen["password"]})
        page = phone.get(page.location)
    assert page.status == 200 and user_code in page.text, page.text[:500]
    return phone.post("/device", {**hidden_fields(page.text), "decision": decision})


def test_a_kiosk_gets_tokens_after_the_citizen_confirms_on_their_phone(client, kiosk, make_citizen):
    citizen = make_citizen()
    started = start(client, kiosk)
    assert started["verification_uri"] == "http://127.0.0.1:5000/device"
    assert started["verification_uri_complete"].endswith(started["user_code"])
    assert error_of(poll(client, kiosk, started["device_code"])) == "authorization_pending"

    done = confirm_on_phone(client, citizen, started["user_code"])
    clock.advance(6)
    tokens = poll(client, kiosk, started["device_code"])

    assert done.status == 200
    assert tokens.status_code == 200, tokens.get_json()
    assert parts(tokens.get_json()["id_token"])[1]["sub"] == citizen["subject"]


def test_a_device_code_gives_tokens_once(client, kiosk, make_citizen):
    started = start(client, kiosk)
    confirm_on_phone(client, make_citizen(), started["user_code"])
    assert poll(client, kiosk, started["device_code"]).status_code == 200

    again = poll(client, kiosk, started["device_code"])

    assert error_of(again) == "invalid_grant"


def test_a_citizen_who_says_no_leaves_the_kiosk_access_denied(client, kiosk, make_citizen):
    started = start(client, kiosk)

    confirm_on_phone(client, make_citizen(), started["user_code"], decision="deny")

    assert error_of(poll(client, kiosk, started["device_code"])) == "access_denied"


def test_a_kiosk_polling_too_fast_is_told_to_slow_down(client, kiosk):
    started = start(client, kiosk)
    poll(client, kiosk, started["device_code"])

    assert error_of(poll(client, kiosk, started["device_code"])) == "slow_down"


def test_an_expired_device_code_is_expired_token(client, kiosk):
    started = start(client, kiosk)
    clock.advance(601)

    assert error_of(poll(client, kiosk, started["device_code"])) == "expired_token"


def test_a_wrong_user_code_approves_nothing(client, kiosk, make_citizen):
    citizen = make_citizen()
    started = start(client, kiosk)
    phone = FlaskBrowser(client)
    login_page = phone.get("/login")
    phone.post("/login", {**hidden_fields(login_page.text), "identifier": citizen["citizen_id"],
                          "password": citizen["password"]})

    page = phone.get("/device", user_code="BBBB-BBBB")

    assert page.status == 400 and "không đúng" in page.text
    assert error_of(poll(client, kiosk, started["device_code"])) == "authorization_pending"


def test_another_portals_device_code_is_invalid_grant(client, kiosk, make_portal):
    started = start(client, kiosk)
    other = make_portal(public=True, redirect_uris=[], post_logout_redirect_uris=[], grant_types=[GRANT])

    assert error_of(poll(client, other, started["device_code"])) == "invalid_grant"


def test_a_portal_without_the_device_grant_cannot_start_one(client, make_portal):
    portal = make_portal()

    response = client.post("/device_authorization", data={"scope": "openid"},
                           auth=(portal["client_id"], portal["client_secret"]))

    assert response.status_code == 400 and error_of(response) == "unauthorized_client"


def test_a_scope_the_kiosk_is_not_registered_for_is_refused(client, kiosk):
    response = client.post("/device_authorization",
                           data={"client_id": kiosk["client_id"], "scope": "openid citizen"})

    assert error_of(response) == "invalid_scope"


def test_discovery_names_the_device_endpoint(client):
    document = client.get("/.well-known/openid-configuration").get_json()

    assert document["device_authorization_endpoint"] == "http://127.0.0.1:5000/device_authorization"
    assert GRANT in document["grant_types_supported"]
