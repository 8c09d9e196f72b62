"""Two portals of different sectors, each on Authlib's client against the real server, receive
different `sub` values for one citizen, each in an ID token verified against the JWKS."""

from __future__ import annotations

from tests.e2e.test_rp_with_authlib import log_in_with_authlib, rp_session, verify_id_token
from tests.support import query_of


def test_two_sectors_two_subjects(live_server, browser, make_citizen, make_portal):
    citizen = make_citizen()
    subjects = []
    for host in ("dat-dai.example", "y-te.example"):
        portal = make_portal(subject_type="pairwise", redirect_uris=[f"https://{host}/cb"])
        rp = rp_session(portal)
        page, state, nonce, verifier = log_in_with_authlib(live_server, browser, citizen, portal, rp)
        tokens = rp.fetch_token(live_server.discovery()["token_endpoint"],
                                code=query_of(page.location)["code"], code_verifier=verifier, state=state)
        claims = verify_id_token(live_server, tokens["id_token"], client_id=portal["client_id"], nonce=nonce,
                                 access_token=tokens["access_token"], alg="RS256")
        subjects.append(claims["sub"])

    assert subjects[0] != subjects[1] and citizen["subject"] not in subjects
