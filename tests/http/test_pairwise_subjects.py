"""Pairwise subject identifiers (OIDC Core §8.1): portals of different sectors cannot correlate a
citizen through `sub`; portals of one sector share it; public portals get the public one."""

from __future__ import annotations

import pytest

from idp.oauth.clients import InvalidClientMetadata
from tests.http.test_logout import parts
from tests.http.test_tokens import basic
from tests.support import FlaskBrowser, JsonDocumentServer, authorize_params, login, query_of


def signed_in(client, citizen: dict, portal: dict) -> dict:
    """Log in through ``portal`` (any host): the ID token's claims, userinfo and introspection."""
    params = authorize_params(portal)
    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"],
                 portal_prefix=portal["redirect_uri"])
    code = query_of(page.location)["code"]
    tokens = client.post("/token", headers=basic(portal), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": portal["redirect_uri"],
        "code_verifier": params["_verifier"]}).get_json()
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    seen = client.post("/introspect", headers=basic(portal),
                       data={"token": tokens["access_token"]}).get_json()
    return {"id_token": parts(tokens["id_token"])[1], "userinfo": info, "introspection": seen,
            "raw_id_token": tokens["id_token"]}


def pairwise_portal(make_portal, host: str, **spec) -> dict:
    return make_portal(subject_type="pairwise", redirect_uris=[f"https://{host}/cb"],
                       post_logout_redirect_uris=[f"https://{host}/"], **spec)


def test_portals_of_two_sectors_see_two_unrelated_subjects(client, make_citizen, make_portal):
    citizen = make_citizen()
    land = pairwise_portal(make_portal, "dat-dai.example")
    health = pairwise_portal(make_portal, "y-te.example")

    at_land, at_health = signed_in(client, citizen, land), signed_in(client, citizen, health)

    assert at_land["id_token"]["sub"] != at_health["id_token"]["sub"]
    assert citizen["subject"] not in (at_land["id_token"]["sub"], at_health["id_token"]["sub"])


def test_userinfo_and_introspection_use_the_portals_own_subject(client, make_citizen, make_portal):
    portal = pairwise_portal(make_portal, "dat-dai.example")

    seen = signed_in(client, make_citizen(), portal)

    assert seen["userinfo"]["sub"] == seen["id_token"]["sub"] == seen["introspection"]["sub"]


def test_portals_of_one_sector_share_the_subject(client, make_citizen, make_portal):
    citizen = make_citizen()
    first = pairwise_portal(make_portal, "dich-vu.example")
    second = make_portal(subject_type="pairwise", redirect_uris=["https://dich-vu.example/other/cb"])

    assert signed_in(client, citizen, first)["id_token"]["sub"] == \
        signed_in(client, citizen, second)["id_token"]["sub"]


def test_a_public_portal_gets_the_public_subject(client, make_citizen, make_portal):
    citizen = make_citizen()

    seen = signed_in(client, citizen, make_portal())

    assert seen["id_token"]["sub"] == citizen["subject"] == seen["userinfo"]["sub"]


def test_the_logout_hint_of_a_pairwise_portal_is_recognised(client, make_citizen, make_portal):
    portal = pairwise_portal(make_portal, "dat-dai.example")
    seen = signed_in(client, make_citizen(), portal)

    response = client.get("/logout", query_string={"id_token_hint": seen["raw_id_token"],
                                                   "post_logout_redirect_uri": "https://dat-dai.example/"})

    assert response.status_code == 302  # no confirmation page: the hint names this session


def test_redirect_uris_on_several_hosts_need_a_sector_identifier(make_portal):
    with pytest.raises(InvalidClientMetadata, match="sector_identifier_uri"):
        make_portal(subject_type="pairwise", redirect_uris=["https://a.example/cb", "https://b.example/cb"])


@pytest.fixture
def sector_list():
    lists = []

    def serve(uris: list[str]) -> JsonDocumentServer:
        """A sector_identifier_uri on loopback serving a JSON list of redirect URIs."""
        lists.append(JsonDocumentServer(uris, "/sector.json"))
        return lists[-1]

    yield serve
    for served in lists:
        served.close()


def test_a_sector_identifier_joins_portals_on_several_hosts(client, make_citizen, make_portal, sector_list):
    citizen = make_citizen()
    uris = ["https://a.example/cb", "https://b.example/cb"]
    sector = sector_list(uris)
    first = make_portal(subject_type="pairwise", redirect_uris=[uris[0]], sector_identifier_uri=sector.uri)
    second = make_portal(subject_type="pairwise", redirect_uris=[uris[1]], sector_identifier_uri=sector.uri)

    assert signed_in(client, citizen, first)["id_token"]["sub"] == \
        signed_in(client, citizen, second)["id_token"]["sub"]


def test_a_sector_identifier_that_does_not_list_the_redirect_uri_is_refused(make_portal, sector_list):
    sector = sector_list(["https://a.example/cb"])

    with pytest.raises(InvalidClientMetadata, match="does not list"):
        make_portal(subject_type="pairwise", redirect_uris=["https://evil.example/cb"],
                    sector_identifier_uri=sector.uri)


def test_discovery_offers_pairwise(client):
    assert "pairwise" in client.get("/.well-known/openid-configuration").get_json()["subject_types_supported"]
