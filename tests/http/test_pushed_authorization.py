"""Pushed Authorization Requests (RFC 9126): the portal sends its request over the back channel and
the browser carries only a one-time request_uri."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from idp import clock
from idp.extensions import db
from idp.models import PushedRequest
from tests.http.test_tokens import basic, error_of, redeem
from tests.support import FlaskBrowser, authorize_params, login, query_of, without_private

URN = "urn:ietf:params:oauth:request_uri:"


def push(client, portal: dict, auth: str = "basic", **extra):
    params = without_private(authorize_params(portal, **extra))
    if auth == "basic":
        return client.post("/par", data=params, headers=basic(portal)), params
    return client.post("/par", data=params), params  # a public client: client_id only


def pushed_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PushedRequest))


def authorize_by_reference(client, portal: dict, request_uri: str):
    query = {"client_id": portal["client_id"], "request_uri": request_uri}
    return client.get("/authorize", query_string=query)


def log_in_with(client, citizen: dict, portal: dict, request_uri: str):
    return login(FlaskBrowser(client), {"client_id": portal["client_id"], "request_uri": request_uri},
                 citizen["citizen_id"], citizen["password"])


def test_a_pushed_request_logs_the_citizen_in_with_only_a_request_uri_in_the_browser(
    client, make_citizen, make_portal
):
    portal, citizen = make_portal(), make_citizen()
    params = authorize_params(portal)
    pushed = client.post("/par", data=without_private(params), headers=basic(portal))

    assert pushed.status_code == 201 and pushed.headers["Cache-Control"] == "no-store"
    assert pushed.get_json()["request_uri"].startswith(URN) and pushed.get_json()["expires_in"] == 90
    page = log_in_with(client, citizen, portal, pushed.get_json()["request_uri"])
    answer = query_of(page.location)
    assert answer["state"] == params["state"] and answer["iss"] == "http://127.0.0.1:5000"
    tokens = redeem(client, portal, answer["code"], params["_verifier"])
    assert tokens.status_code == 200 and "id_token" in tokens.get_json()


def test_discovery_advertises_the_par_endpoint(client):
    document = client.get("/.well-known/openid-configuration").get_json()

    assert document["pushed_authorization_request_endpoint"] == "http://127.0.0.1:5000/par"


def test_a_request_uri_works_once(client, make_citizen, make_portal):
    portal, citizen = make_portal(), make_citizen()
    request_uri = push(client, portal)[0].get_json()["request_uri"]
    assert log_in_with(client, citizen, portal, request_uri).status == 302

    again = authorize_by_reference(client, portal, request_uri)

    assert again.status_code == 400 and "invalid_request_uri" in again.get_data(as_text=True)
    assert again.headers.get("Location") is None


def test_an_expired_request_uri_is_refused(client, make_portal):
    portal = make_portal()
    request_uri = push(client, portal)[0].get_json()["request_uri"]
    clock.advance(91)

    answer = authorize_by_reference(client, portal, request_uri)

    assert answer.status_code == 400 and "invalid_request_uri" in answer.get_data(as_text=True)


def test_a_request_uri_is_bound_to_the_portal_that_pushed_it(client, make_portal):
    pusher, other = make_portal(), make_portal()
    request_uri = push(client, pusher)[0].get_json()["request_uri"]

    answer = authorize_by_reference(client, other, request_uri)

    assert answer.status_code == 400 and "invalid_request_uri" in answer.get_data(as_text=True)


def test_parameters_in_the_browser_cannot_change_a_pushed_request(client, make_citizen, make_portal):
    portal, citizen = make_portal(), make_citizen()
    params = authorize_params(portal, scope="openid")
    pushed = client.post("/par", data=without_private(params), headers=basic(portal))
    tampered = {"client_id": portal["client_id"], "request_uri": pushed.get_json()["request_uri"],
                "scope": "openid profile email phone", "state": "attacker"}

    page = login(FlaskBrowser(client), tampered, citizen["citizen_id"], citizen["password"])
    tokens = redeem(client, portal, query_of(page.location)["code"], params["_verifier"]).get_json()

    assert query_of(page.location)["state"] == params["state"]
    assert tokens["scope"] == "openid"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"scope": "profile"}, "invalid_scope"),
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"request_uri": URN + "x" * 43}, "invalid_request"),
    ],
)
def test_a_bad_pushed_request_is_refused_on_the_back_channel_and_nothing_is_stored(
    app, client, make_portal, change, error
):
    portal = make_portal()

    response, _ = push(client, portal, **change)

    assert response.status_code == 400 and error_of(response) == error
    assert response.get_json()["error_description"]
    assert pushed_rows(app) == 0


def test_a_portal_with_a_wrong_secret_cannot_push(app, client, make_portal):
    portal = make_portal()
    params = without_private(authorize_params(portal))

    response = client.post("/par", data=params, headers=basic(portal, secret="tnid_cs_wrong"))

    assert response.status_code == 401 and error_of(response) == "invalid_client"
    assert pushed_rows(app) == 0


def test_a_public_client_pushes_with_its_client_id_and_pkce(client, make_citizen, make_portal):
    portal = make_portal(public=True, grant_types=["authorization_code"])

    response, _ = push(client, portal, auth="none")

    assert response.status_code == 201


def test_a_portal_that_requires_par_cannot_send_its_request_through_the_browser(
    client, make_citizen, make_portal
):
    portal, citizen = make_portal(require_pushed_authorization_requests=True), make_citizen()

    direct = client.get("/authorize", query_string=without_private(authorize_params(portal)))
    request_uri = push(client, portal)[0].get_json()["request_uri"]
    pushed = log_in_with(client, citizen, portal, request_uri)

    assert direct.status_code == 302 and query_of(direct.headers["Location"])["error"] == "invalid_request"
    assert "push" in query_of(direct.headers["Location"])["error_description"]
    assert "code" in query_of(pushed.location)
