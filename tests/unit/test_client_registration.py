"""Registering a portal: every piece of metadata is checked, and the secret is kept only as a hash."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text

from idp.extensions import db
from idp.models import Client
from idp.oauth import clients
from idp.oauth.clients import ClientSpec, InvalidClientMetadata, check_redirect_uri


def spec(**fields) -> ClientSpec:
    fields.setdefault("name", "Cổng dịch vụ công Thái Nguyên")
    fields.setdefault("redirect_uris", ["https://dichvucong.thainguyen.gov.vn/callback"])
    return ClientSpec(**fields)


# --- redirect URIs -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "uri",
    [
        "https://dichvucong.thainguyen.gov.vn/callback",
        "https://portal.example:8443/cb?tab=1",
        "http://127.0.0.1:8080/callback",
        "http://localhost/callback",
        "http://[::1]:9000/cb",
        "vn.gov.thainguyen.citizen:/callback",
        "com.example.app:/oauth2redirect",
    ],
)
def test_acceptable_redirect_uris(uri):
    assert check_redirect_uri(uri) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "http://portal.example/callback",  # http off loopback
        "http://10.0.0.5/callback",
        "myapp:/callback",  # private-use scheme without a dot (RFC 8252 §7.1)
        "https://portal.example/callback#frag",
        "https://portal.example/callback#",
        "https://*.portal.example/callback",
        "https://portal.example/*",
        "https://user:pw@portal.example/callback",
        "https://user@portal.example/callback",
        "https:///callback",  # no host
        "/callback",
        "",
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://portal.example/cb",
        "https://portal.example/call back",
        "vn.gov.app://host/callback",  # a private-use scheme has no authority
    ],
)
def test_unacceptable_redirect_uris_are_refused(uri):
    with pytest.raises(InvalidClientMetadata) as refused:
        check_redirect_uri(uri)

    assert refused.value.error == "invalid_redirect_uri"


def test_post_logout_redirect_uris_follow_the_same_rules():
    with pytest.raises(InvalidClientMetadata) as refused:
        clients.validate(spec(post_logout_redirect_uris=["http://portal.example/"]))

    assert refused.value.error == "invalid_redirect_uri"


def test_code_flow_portal_needs_a_redirect_uri():
    with pytest.raises(InvalidClientMetadata) as refused:
        clients.validate(spec(redirect_uris=[]))

    assert refused.value.error == "invalid_redirect_uri"


# --- grant types, scopes, methods ---------------------------------------------------------------
@pytest.mark.parametrize("grant_types",
                         [["password"], ["implicit"], ["authorization_code", "device_code"], []])
def test_unknown_or_missing_grant_types_are_refused(grant_types):
    with pytest.raises(InvalidClientMetadata) as refused:
        clients.validate(spec(grant_types=grant_types))

    assert refused.value.error == "invalid_client_metadata"


def test_public_client_cannot_have_client_credentials():
    with pytest.raises(InvalidClientMetadata, match="public"):
        clients.validate(spec(public=True, grant_types=["authorization_code", "client_credentials"]))


def test_service_portal_with_client_credentials_needs_no_redirect_uri():
    clients.validate(spec(redirect_uris=[], grant_types=["client_credentials"], scopes=["api:read"]))


@pytest.mark.parametrize("scope", ["API:READ", "has space", "1api", "a" * 65, "api/read", ""])
def test_malformed_custom_scopes_are_refused(scope):
    with pytest.raises(InvalidClientMetadata):
        clients.validate(spec(scopes=["openid", scope]))


@pytest.mark.parametrize("method", ["none", "tls_client_auth"])
def test_confidential_portal_needs_a_supported_auth_method(method):
    with pytest.raises(InvalidClientMetadata, match="token_endpoint_auth_method"):
        clients.validate(spec(token_endpoint_auth_method=method))


def test_id_token_algorithm_must_be_supported():
    with pytest.raises(InvalidClientMetadata, match="id_token_signed_response_alg"):
        clients.validate(spec(id_token_signed_response_alg="HS256"))


@pytest.mark.parametrize("client_id", ["ab", "has space", "a" * 65, "ổ-portal"])
def test_malformed_client_ids_are_refused(client_id):
    with pytest.raises(InvalidClientMetadata, match="client_id"):
        clients.validate(spec(client_id=client_id))


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_name_is_required_and_bounded(name):
    with pytest.raises(InvalidClientMetadata, match="name"):
        clients.validate(spec(name=name))


# --- what is stored ------------------------------------------------------------------------------
def test_secret_is_returned_once_and_stored_only_as_a_hash(ctx):
    row, secret = clients.register(spec())
    db.session.commit()

    assert secret.startswith("tnid_cs_") and len(secret) > 40
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = db.session.execute(text("SELECT * FROM clients WHERE client_id = :id"),
                                {"id": row.client_id}).one()
    assert all(secret not in str(value) for value in stored)
    assert row.check_client_secret(secret)
    assert not row.check_client_secret(secret + "x")


def test_public_client_has_no_secret_and_authenticates_with_none(ctx):
    row, secret = clients.register(spec(public=True))

    assert secret is None and row.secret_hash is None
    assert row.token_endpoint_auth_method == "none"
    assert not row.check_client_secret("")


def test_generated_client_ids_are_unique_and_a_chosen_one_cannot_be_taken_twice(ctx):
    first, _ = clients.register(spec())
    second, _ = clients.register(spec())
    assert first.client_id != second.client_id and first.client_id.startswith("tn-")

    clients.register(spec(client_id="cong-dich-vu"))
    with pytest.raises(InvalidClientMetadata, match="taken"):
        clients.register(spec(client_id="cong-dich-vu"))


def test_duplicate_uris_and_scopes_are_stored_once(ctx):
    row, _ = clients.register(spec(redirect_uris=["https://a.example/cb", "https://a.example/cb"],
                                   scopes=["openid", "profile", "openid"]))
    db.session.commit()

    stored = db.session.scalar(select(Client).where(Client.client_id == row.client_id))
    assert stored.redirect_uris == ["https://a.example/cb"]
    assert stored.scopes == ["openid", "profile"]


def test_new_secret_replaces_the_old_one(ctx):
    row, old = clients.register(spec())

    new = clients.new_secret(row)

    assert new != old and row.check_client_secret(new) and not row.check_client_secret(old)


def test_redirect_uri_matching_is_exact(ctx):
    row, _ = clients.register(spec(redirect_uris=["https://portal.example/callback"]))

    assert row.check_redirect_uri("https://portal.example/callback")
    for other in ("https://portal.example/callback/", "https://PORTAL.example/callback",
                  "https://portal.example/callback?x=1", "https://portal.example/call"):
        assert not row.check_redirect_uri(other)
