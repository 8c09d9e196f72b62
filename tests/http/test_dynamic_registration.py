"""Dynamic client registration (RFC 7591) and management (RFC 7592), open only with an initial
access token an operator issued; then the registered portal logs a citizen in like any other."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import AuditEvent, Client, InitialAccessToken
from idp.oauth import registration
from tests.http.test_tokens import bearer, error_of, sign_in, userinfo_status

CALLBACK = "https://portal.example/registered/callback"  # the test browser stops at portal.example


@pytest.fixture
def initial_token(app):
    """issue(uses=1, lifetime=3600, scopes=...) → a fresh initial access token."""

    def issue(uses: int = 1, lifetime: int = 3600, scopes=("openid", "profile", "email", "offline_access")):
        with app.app_context():
            token = registration.issue_initial_token("Nhà cung cấp A", uses, lifetime, list(scopes))
            db.session.commit()
            return token

    return issue


def metadata(**extra) -> dict:
    return {
        "client_name": "Cổng dịch vụ công",
        "client_name#en": "Public service portal",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile email",
        **extra,
    }


def register(client, token: str | None, body) -> object:
    headers = bearer(token) if token else {}
    return client.post("/connect/register", json=body, headers=headers)


def client_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Client))


def test_a_portal_registers_itself_and_logs_a_citizen_in(client, initial_token, make_citizen):
    response = register(client, initial_token(), metadata())

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["client_secret"].startswith("tnid_cs_") and body["client_secret_expires_at"] == 0
    assert body["redirect_uris"] == [CALLBACK] and body["response_types"] == ["code"]
    assert body["client_name#en"] == "Public service portal"
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["registration_client_uri"].endswith("/connect/register/" + body["client_id"])
    portal = {"client_id": body["client_id"], "client_secret": body["client_secret"],
              "redirect_uri": CALLBACK}
    tokens = sign_in(client, make_citizen(), portal)
    assert userinfo_status(client, tokens["access_token"]) == 200


def test_discovery_advertises_the_registration_endpoint(client):
    document = client.get("/.well-known/openid-configuration").get_json()

    assert document["registration_endpoint"] == "http://127.0.0.1:5000/connect/register"


@pytest.mark.parametrize("token", [None, "tnid_iat_unknown", "not-a-token"])
def test_registration_without_a_valid_initial_access_token_is_refused(app, client, token):
    response = register(client, token, metadata())

    assert response.status_code == 401 and error_of(response) == "invalid_token"
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    assert client_count(app) == 0


def test_an_initial_token_registers_only_as_many_portals_as_the_operator_allowed(app, client, initial_token):
    token = initial_token(uses=2)

    answers = [register(client, token, metadata()).status_code for _ in range(3)]

    assert answers == [201, 201, 401]
    assert client_count(app) == 2


def test_an_expired_initial_token_is_refused(app, client, initial_token):
    from idp import clock

    token = initial_token(lifetime=60)
    clock.advance(61)
    try:
        response = register(client, token, metadata())
    finally:
        clock.reset()

    assert response.status_code == 401 and client_count(app) == 0


def test_a_revoked_initial_token_is_refused(app, client, initial_token):
    token = initial_token()
    with app.app_context():
        row = db.session.scalar(select(InitialAccessToken))
        assert registration.revoke_initial_token(row.id)
        db.session.commit()

    assert register(client, token, metadata()).status_code == 401


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"redirect_uris": ["http://dichvucong.example/cb"]}, "invalid_redirect_uri", "https"),
        ({"redirect_uris": ["https://dichvucong.example/*"]}, "invalid_redirect_uri", "wildcard"),
        ({"redirect_uris": []}, "invalid_redirect_uri", "redirect URI"),
        ({"redirect_uris": "https://dichvucong.example/cb"}, "invalid_client_metadata", "redirect_uris"),
        ({"client_name": None}, "invalid_client_metadata", "client_name"),
        ({"client_name": 7}, "invalid_client_metadata", "client_name"),
        ({"grant_types": ["password"]}, "invalid_client_metadata", "grant types"),
        ({"response_types": ["token"]}, "invalid_client_metadata", "response_types"),
        ({"grant_types": ["client_credentials"], "response_types": ["code"]},
         "invalid_client_metadata", "together"),
        ({"token_endpoint_auth_method": "tls_client_auth"},
         "invalid_client_metadata", "token_endpoint_auth_method"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata", "jwks or jwks_uri"),
        ({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "oct", "k": "c2Vj"}]}},
         "invalid_client_metadata", "public keys only"),
        ({"scope": "openid citizen"}, "invalid_client_metadata", "citizen"),
        ({"scope": ["openid"]}, "invalid_client_metadata", "scope"),
        ({"id_token_signed_response_alg": "HS256"},
         "invalid_client_metadata", "id_token_signed_response_alg"),
        ({"logo_uri": "javascript:alert(1)"}, "invalid_client_metadata", "logo_uri"),
        ({"contacts": ["not an email"]}, "invalid_client_metadata", "contacts"),
        ({"subject_type": "secret"}, "invalid_client_metadata", "subject_type"),
        ({"id_token_encrypted_response_alg": "RSA-OAEP-256"}, "invalid_client_metadata", "A256GCM"),
        ({"request_object_signing_alg": "RS256"}, "invalid_client_metadata", "not supported"),
        ({"jwks_uri": "https://dichvucong.example/jwks"}, "invalid_client_metadata", "only used with"),
        ({"dpop_bound_access_tokens": "yes"}, "invalid_client_metadata", "true or false"),
    ],
)
def test_bad_metadata_gets_the_precise_error_and_registers_nothing(
    app, client, initial_token, change, error, words
):
    body = {k: v for k, v in {**metadata(), **change}.items() if v is not None}

    response = register(client, initial_token(), body)

    assert response.status_code == 400 and error_of(response) == error
    assert words in response.get_json()["error_description"]
    assert client_count(app) == 0


def test_a_refused_registration_gives_the_initial_tokens_use_back(app, client, initial_token):
    token = initial_token(uses=1)

    assert register(client, token, metadata(redirect_uris=["ftp://x"])).status_code == 400
    assert register(client, token, metadata()).status_code == 201


def test_a_body_that_is_not_json_is_invalid_client_metadata(app, client, initial_token):
    response = client.post("/connect/register", data="redirect_uris=x", headers=bearer(initial_token()),
                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400 and error_of(response) == "invalid_client_metadata"


def test_a_native_app_registers_as_a_public_client_without_a_secret(client, initial_token):
    body = metadata(application_type="native", token_endpoint_auth_method="none",
                    redirect_uris=["vn.gov.thainguyen.app:/callback"])

    response = register(client, initial_token(), body)

    assert response.status_code == 201
    assert "client_secret" not in response.get_json()
    assert response.get_json()["token_endpoint_auth_method"] == "none"


# --- RFC 7592: reading, replacing and deleting one's own registration --------------------------
@pytest.fixture
def registered(client, initial_token):
    return register(client, initial_token(), metadata()).get_json()


def test_the_portal_reads_its_registration_with_its_registration_access_token(client, registered):
    response = client.get(registered["registration_client_uri"],
                          headers=bearer(registered["registration_access_token"]))

    assert response.status_code == 200
    assert response.get_json()["client_id"] == registered["client_id"]
    assert "client_secret" not in response.get_json()


@pytest.mark.parametrize("token", ["tnid_rat_wrong", None])
def test_a_wrong_registration_access_token_reads_nothing(client, registered, token):
    response = client.get(registered["registration_client_uri"], headers=bearer(token) if token else {})

    assert response.status_code == 401 and error_of(response) == "invalid_token"


def test_another_portals_registration_token_does_not_open_this_one(client, initial_token, registered):
    other = register(client, initial_token(), metadata()).get_json()

    response = client.get(registered["registration_client_uri"],
                          headers=bearer(other["registration_access_token"]))

    assert response.status_code == 401


def test_a_portal_replaces_its_metadata(client, registered):
    new = metadata(client_id=registered["client_id"], redirect_uris=["https://dichvucong.example/new"],
                   tos_uri="https://dichvucong.example/dieu-khoan")

    response = client.put(registered["registration_client_uri"], json=new,
                          headers=bearer(registered["registration_access_token"]))

    assert response.status_code == 200
    assert response.get_json()["redirect_uris"] == ["https://dichvucong.example/new"]
    assert response.get_json()["tos_uri"] == "https://dichvucong.example/dieu-khoan"


def test_an_update_cannot_widen_the_scopes_or_change_the_client_id(client, registered):
    uri, headers = registered["registration_client_uri"], bearer(registered["registration_access_token"])

    wider = client.put(uri, headers=headers,
                       json=metadata(client_id=registered["client_id"], scope="openid profile email phone"))
    other_id = client.put(uri, json=metadata(client_id="someone-else"), headers=headers)

    assert wider.status_code == 400 and "phone" in wider.get_json()["error_description"]
    assert other_id.status_code == 400 and error_of(other_id) == "invalid_client_metadata"
    assert client.get(uri, headers=headers).get_json()["scope"] == "openid profile email"


def test_deleting_the_registration_ends_the_portals_tokens(app, client, registered, make_citizen):
    portal = {"client_id": registered["client_id"], "client_secret": registered["client_secret"],
              "redirect_uri": CALLBACK}
    tokens = sign_in(client, make_citizen(), portal)

    response = client.delete(registered["registration_client_uri"],
                             headers=bearer(registered["registration_access_token"]))

    assert response.status_code == 204
    assert userinfo_status(client, tokens["access_token"]) == 401
    assert client.get(registered["registration_client_uri"],
                      headers=bearer(registered["registration_access_token"])).status_code == 401


def test_registration_is_audited_without_its_secrets(app, client, registered):
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    kinds = [r.event_type for r in rows]
    text = " ".join(str(r.details) for r in rows)

    assert "registration_token_issued" in kinds and "client_registered" in kinds
    assert registered["client_secret"] not in text and registered["registration_access_token"] not in text
