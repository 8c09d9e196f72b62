"""Logout across portals: back-channel notices (signed logout tokens to each portal's server, with
retries) and front-channel frames, for every portal that took part in the ended session."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.models import AuditEvent, LogoutDelivery
from idp.oauth import backchannel
from tests.http.test_logout import log_in, parts
from tests.support import FlaskBrowser, login

EVENT = "http://schemas.openid.net/event/backchannel-logout"


class PortalServer:
    """A portal's back-channel logout endpoint on loopback: records each logout_token it gets."""

    def __init__(self, status: int = 200) -> None:
        self.status, self.tokens = status, []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                owner.tokens.append(parse_qs(body).get("logout_token", [""])[0])
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.httpd.server_address[1]}/backchannel-logout"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, count: int, seconds: float = 10) -> list[str]:
        deadline = time.monotonic() + seconds
        while len(self.tokens) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.tokens

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def portal_server():
    servers = []

    def start(status: int = 200) -> PortalServer:
        servers.append(PortalServer(status))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def logout(client, signed_in) -> object:
    return client.get("/logout", query_string={"id_token_hint": signed_in.id_token})


def deliveries(app) -> list[LogoutDelivery]:
    with app.app_context():
        return list(db.session.scalars(select(LogoutDelivery).order_by(LogoutDelivery.id)))


def test_a_portal_in_the_session_receives_a_signed_logout_token(client, make_citizen, make_portal,
                                                                 portal_server):
    server = portal_server()
    portal = make_portal(backchannel_logout_uri=server.uri)
    signed_in = log_in(client, make_citizen(), portal)

    assert logout(client, signed_in).status_code == 200
    received = server.wait_for(1)

    assert len(received) == 1
    jwks = KeySet.import_key_set(client.get("/jwks.json").get_json())
    token = jwt.decode(received[0], jwks)
    id_claims = parts(signed_in.id_token)[1]
    assert token.header["typ"] == "logout+jwt"
    assert token.claims["iss"] == "http://127.0.0.1:5000" and token.claims["aud"] == portal["client_id"]
    assert token.claims["sid"] == id_claims["sid"] and token.claims["sub"] == id_claims["sub"]
    assert token.claims["events"] == {EVENT: {}} and "nonce" not in token.claims
    assert 0 < token.claims["exp"] - token.claims["iat"] <= 120 and token.claims["jti"]


def test_only_portals_of_that_session_are_told(client, make_citizen, make_portal, portal_server):
    used, unused = portal_server(), portal_server()
    portal = make_portal(backchannel_logout_uri=used.uri)
    make_portal(backchannel_logout_uri=unused.uri)  # registered, but not part of this login
    signed_in = log_in(client, make_citizen(), portal)

    logout(client, signed_in)

    assert len(used.wait_for(1)) == 1
    time.sleep(0.3)
    assert unused.tokens == []


def test_a_delivery_is_audited(app, client, make_citizen, make_portal, portal_server):
    server = portal_server()
    signed_in = log_in(client, make_citizen(), make_portal(backchannel_logout_uri=server.uri))
    logout(client, signed_in)
    server.wait_for(1)

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not deliveries(app)[0].delivered_at:
        time.sleep(0.05)
    with app.app_context():
        kinds = set(db.session.scalars(select(AuditEvent.event_type)))
    assert "backchannel_logout_delivered" in kinds
    assert deliveries(app)[0].attempts == 1


def test_an_unreachable_portal_is_retried_later_and_then_told(app, client, make_citizen, make_portal,
                                                             portal_server):
    down = portal_server(status=503)
    portal = make_portal(backchannel_logout_uri=down.uri)
    signed_in = log_in(client, make_citizen(), portal)
    logout(client, signed_in)
    down.wait_for(1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and deliveries(app)[0].attempts == 0:
        time.sleep(0.05)
    assert deliveries(app)[0].delivered_at is None and deliveries(app)[0].last_error == "HTTP 503"

    down.status = 200
    with app.app_context():
        assert backchannel.deliver_due() == {"delivered": 0, "failed": 0, "abandoned": 0}  # not yet due
        clock.advance(backchannel.RETRY_DELAYS[0] + 1)
        assert backchannel.deliver_due()["delivered"] == 1

    assert len(down.tokens) == 2 and deliveries(app)[0].attempts == 2


def test_after_the_last_retry_the_notice_is_abandoned_and_audited(app, client, make_citizen, make_portal,
                                                                 portal_server):
    down = portal_server(status=500)
    signed_in = log_in(client, make_citizen(), make_portal(backchannel_logout_uri=down.uri))
    logout(client, signed_in)
    down.wait_for(1)
    time.sleep(0.3)

    with app.app_context():
        for delay in backchannel.RETRY_DELAYS:
            clock.advance(delay + backchannel.LEASE + 1)
            backchannel.deliver_due()
        abandoned = db.session.scalar(select(LogoutDelivery))
        failures = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "backchannel_logout_failed")).all()

    assert abandoned.abandoned_at is not None and abandoned.attempts == len(backchannel.RETRY_DELAYS) + 1
    assert failures[-1].details["gave_up"] is True


def test_signing_out_a_device_from_the_account_page_tells_the_portals(client, make_citizen, make_portal,
                                                                      portal_server, app):
    from idp.identity import sessions

    server = portal_server()
    signed_in = log_in(client, make_citizen(), make_portal(backchannel_logout_uri=server.uri))
    sid = parts(signed_in.id_token)[1]["sid"]
    with app.app_context():
        assert sessions.end_by_sid(signed_in.citizen["pk"], [sid]) == [sid]
        db.session.commit()
        backchannel.deliver_due()

    assert jwt.decode(server.wait_for(1)[0], KeySet.import_key_set(client.get("/jwks.json").get_json())
                      ).claims["sid"] == sid


def test_a_password_reset_ends_sessions_and_tells_the_portals(app, client, make_citizen, make_portal,
                                                              portal_server):
    from idp.identity import sessions

    server = portal_server()
    signed_in = log_in(client, make_citizen(), make_portal(backchannel_logout_uri=server.uri))
    with app.app_context():
        sessions.end_all_for(signed_in.citizen["pk"])
        db.session.commit()
        backchannel.deliver_due()

    assert len(server.wait_for(1)) == 1


# --- front channel ----------------------------------------------------------------------------
def test_front_channel_portals_are_loaded_in_frames_before_going_on(client, make_citizen, make_portal):
    framed = make_portal(frontchannel_logout_uri="https://portal.example/fc-logout?x=1")
    citizen = make_citizen()
    signed_in = log_in(client, citizen, framed)
    sid = parts(signed_in.id_token)[1]["sid"]

    response = client.get("/logout", query_string={
        "id_token_hint": signed_in.id_token, "state": "s1",
        "post_logout_redirect_uri": framed["post_logout_redirect_uri"]})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    frame = "https://portal.example/fc-logout?x=1&amp;iss=http%3A%2F%2F127.0.0.1%3A5000&amp;sid=" + sid
    assert f'src="{frame}"' in page
    assert 'href="https://portal.example/?state=s1"' in page
    assert "frame-src https://portal.example" in response.headers["Content-Security-Policy"]


def test_without_front_channel_portals_the_logout_redirects_at_once(client, make_citizen, make_portal):
    portal = make_portal()
    signed_in = log_in(client, make_citizen(), portal)

    response = client.get("/logout", query_string={
        "id_token_hint": signed_in.id_token, "post_logout_redirect_uri": portal["post_logout_redirect_uri"]})

    assert response.status_code == 302


def test_discovery_announces_both_logout_channels(client):
    document = client.get("/.well-known/openid-configuration").get_json()

    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True
    assert document["frontchannel_logout_supported"] is True


def test_a_second_portal_in_the_same_session_is_told_too(client, make_citizen, make_portal, portal_server):
    first_server, second_server = portal_server(), portal_server()
    first = make_portal(backchannel_logout_uri=first_server.uri)
    second = make_portal(backchannel_logout_uri=second_server.uri)
    citizen = make_citizen()
    signed_in = log_in(client, citizen, first)
    # Single sign-on: the second portal's login rides on the same session (same sid).
    from tests.support import authorize_params

    page = login(FlaskBrowser(client), authorize_params(second), citizen["citizen_id"], citizen["password"])
    assert page.status == 302

    logout(client, signed_in)

    assert len(first_server.wait_for(1)) == 1 and len(second_server.wait_for(1)) == 1


def test_logging_in_again_keeps_the_portals_in_the_session(client, make_citizen, make_portal, portal_server):
    from tests.support import authorize_params

    server = portal_server()
    portal, citizen = make_portal(backchannel_logout_uri=server.uri), make_citizen()
    first = log_in(client, citizen, portal)
    page = login(FlaskBrowser(client), authorize_params(portal, prompt="login"), citizen["citizen_id"],
                 citizen["password"])
    assert page.status == 302
    time.sleep(0.3)
    assert server.tokens == []  # re-authentication is not a logout

    logout(client, first)

    token = jwt.decode(server.wait_for(1)[0], KeySet.import_key_set(client.get("/jwks.json").get_json()))
    assert token.claims["sid"] == parts(first.id_token)[1]["sid"]


def test_another_citizen_logging_in_on_the_same_browser_ends_the_first_ones_session(
    client, make_citizen, make_portal, portal_server
):
    from tests.support import authorize_params

    server = portal_server()
    portal = make_portal(backchannel_logout_uri=server.uri)
    first, second = make_citizen(), make_citizen()
    log_in(client, first, portal)

    page = login(FlaskBrowser(client), authorize_params(portal, prompt="login"), second["citizen_id"],
                 second["password"])

    assert page.status == 302
    assert len(server.wait_for(1)) == 1
