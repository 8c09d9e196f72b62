"""Rotation and revocation as portals see them: through the JWKS, the token and userinfo endpoints."""

from __future__ import annotations

import dataclasses

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from idp import clock, create_app
from idp.extensions import db
from idp.keystore import lifecycle
from idp.oauth import tokens
from tests.http.test_tokens import basic, bearer, sign_in


@pytest.fixture
def own_keys_app(app, settings, tmp_path):
    """The provider with a key store of its own, so rotating here disturbs no other test."""
    isolated = create_app(dataclasses.replace(settings, keys_dir=tmp_path / "keys"))
    isolated.config["TESTING"] = True
    return isolated


@pytest.fixture
def web(own_keys_app):
    return own_keys_app.test_client()


def ring(app):
    return app.extensions["idp"].keyring


def published(web) -> KeySet:
    return KeySet.import_key_set(web.get("/jwks.json").get_json())


def rotate(app, *algs, force=False):
    keyring = ring(app)
    if not force:
        clock.advance(keyring.policy.min_publication)
    changes = lifecycle.rotate(keyring.store, keyring.policy, algs or None, force=force)
    keyring.refresh(force=True)  # the worker's next check (tested in test_lifecycle) without waiting
    return changes


def test_the_next_key_is_in_the_jwks_before_it_signs_anything(own_keys_app, web):
    keyring = ring(own_keys_app)
    upcoming = {k.kid for k in keyring.store.load()[0] if k.state == "next"}
    assert upcoming <= {k["kid"] for k in web.get("/jwks.json").get_json()["keys"]}


def test_tokens_issued_before_a_rotation_still_verify_and_new_ones_carry_the_new_kid(
    own_keys_app, web, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    before = sign_in(web, citizen, portal)["id_token"]

    rotate(own_keys_app, "RS256")
    after = sign_in(web, citizen, portal)["id_token"]

    jwks = published(web)
    old = jwt.decode(before, jwks, algorithms=["RS256"])
    new = jwt.decode(after, jwks, algorithms=["RS256"])
    assert old.header["kid"] != new.header["kid"]
    assert new.header["kid"] == ring(own_keys_app).signing_key("RS256").kid


def test_the_retired_key_leaves_the_jwks_only_when_its_tokens_have_expired(
    own_keys_app, web, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    old_kid = jwt.decode(
        sign_in(web, citizen, portal)["id_token"], published(web), algorithms=["RS256"]
    ).header["kid"]
    rotate(own_keys_app, "RS256")
    keyring = ring(own_keys_app)

    clock.advance(keyring.policy.retire_grace - 30)
    lifecycle.prune(keyring.store)
    keyring.refresh(force=True)
    assert old_kid in {k["kid"] for k in web.get("/jwks.json").get_json()["keys"]}

    clock.advance(60)
    lifecycle.prune(keyring.store)
    keyring.refresh(force=True)
    assert old_kid not in {k["kid"] for k in web.get("/jwks.json").get_json()["keys"]}


def test_after_revoke_the_keys_tokens_fail_at_userinfo_and_introspection(
    own_keys_app, web, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    issued = sign_in(web, citizen, portal)
    kid = jwt.decode(issued["id_token"], published(web), algorithms=["RS256"]).header["kid"]
    unrelated = make_portal(grant_types=["client_credentials"], scopes=["api:read"], redirect_uris=[])
    machine = web.post(
        "/token", data={"grant_type": "client_credentials", "scope": "api:read"}, headers=basic(unrelated)
    ).get_json()

    keyring = ring(own_keys_app)
    lifecycle.revoke(keyring.store, keyring.policy, kid)
    with own_keys_app.app_context():
        tokens.revoke_signed_by(kid)
        db.session.commit()
    keyring.refresh(force=True)

    assert web.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 401
    introspected = web.post("/introspect", data={"token": issued["access_token"]}, headers=basic(portal))
    assert introspected.get_json() == {"active": False}
    assert kid not in {k["kid"] for k in web.get("/jwks.json").get_json()["keys"]}
    with pytest.raises((BadSignatureError, JoseError, ValueError)):
        jwt.decode(issued["id_token"], published(web), algorithms=["RS256"])
    # Nothing signed, nothing revoked: a client_credentials token is untouched.
    still = web.post("/introspect", data={"token": machine["access_token"]}, headers=basic(unrelated))
    assert still.get_json()["active"] is True
    # The new active key signs at once.
    fresh = sign_in(web, citizen, portal)["id_token"]
    assert jwt.decode(fresh, published(web), algorithms=["RS256"]).header["kid"] != kid


def test_an_id_token_hint_signed_by_a_revoked_key_is_refused_at_logout(
    own_keys_app, web, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    issued = sign_in(web, citizen, portal)
    kid = jwt.decode(issued["id_token"], published(web), algorithms=["RS256"]).header["kid"]
    keyring = ring(own_keys_app)
    lifecycle.revoke(keyring.store, keyring.policy, kid)
    keyring.refresh(force=True)

    page = web.get(
        "/logout",
        query_string={
            "id_token_hint": issued["id_token"],
            "post_logout_redirect_uri": portal["post_logout_redirect_uri"],
        },
    )

    assert page.status_code == 400 and "Location" not in page.headers


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_every_offered_algorithm_signs_id_tokens_that_verify_against_the_jwks(
    web, make_citizen, make_portal, alg
):
    portal = make_portal(id_token_signed_response_alg=alg)
    issued = sign_in(web, make_citizen(), portal)
    token = jwt.decode(issued["id_token"], published(web), algorithms=[alg])
    assert token.header["alg"] == alg
    assert (
        alg
        in web.get("/.well-known/openid-configuration").get_json()["id_token_signing_alg_values_supported"]
    )


def test_the_jwks_is_cached_for_less_than_the_prepublication_window_and_answers_304(own_keys_app, web):
    first = web.get("/jwks.json")
    max_age = int(first.headers["Cache-Control"].split("max-age=")[1])
    assert max_age < ring(own_keys_app).policy.min_publication
    again = web.get("/jwks.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
