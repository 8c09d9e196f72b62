"""A citizen sees the portals they share with and can stop sharing: the promise on the consent page."""

from __future__ import annotations

from tests.http.test_tokens import basic, bearer, sign_in
from tests.support import hidden_fields


def test_withdrawing_consent_ends_the_portals_tokens_and_asks_again_next_time(
    client, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal(name="Cổng Y tế điện tử")
    issued = sign_in(client, citizen, portal, scope="openid profile offline_access")
    portals = client.get("/account/portals").get_data(as_text=True)
    assert "Cổng Y tế điện tử" in portals

    # The older address of the withdrawal form still works (pages and bookmarks made before).
    fields = hidden_fields(portals)
    response = client.post("/consents/withdraw", data={**fields, "client_id": portal["client_id"]})

    assert response.status_code == 303
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 401
    refreshed = client.post(
        "/token",
        headers=basic(portal),
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
    )
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    assert f'value="{portal["client_id"]}"' not in client.get("/account/portals").get_data(as_text=True)


def test_withdrawing_needs_the_csrf_token(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    issued = sign_in(client, citizen, portal)
    response = client.post("/consents/withdraw", data={"client_id": portal["client_id"]})
    assert response.status_code == 400
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 200
