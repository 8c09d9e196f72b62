"""Levels of assurance from the portal's side: acr_values (best effort), the claims parameter's
essential acr (met or an error), a portal's registered minimum, step-up of a level-1 session by
the second factor alone, and `unmet_authentication_requirements` when a level cannot be reached."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import AuditEvent
from tests.factors import LOA1, LOA2, LOA3, code_now, enrol_totp, identity_checked
from tests.http.test_second_factor_login import id_token_claims, second_step
from tests.support import FlaskBrowser, authorize_params, follow, login, query_of, without_private

PORTAL = "https://portal.example"


def essential(*values: str) -> str:
    return json.dumps({"id_token": {"acr": {"essential": True, "values": list(values)}}})


def logged_in_at_level_1(client, citizen, portal) -> FlaskBrowser:
    browser = FlaskBrowser(client)
    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    assert page.status == 302 and "code=" in page.location
    return browser


def authorize(browser, portal, **extra):
    params = authorize_params(portal, **extra)
    page = follow(browser, browser.get("/authorize", **without_private(params)), PORTAL)
    return page, params


def error_at_portal(page, params) -> dict:
    assert page.status == 302 and page.location.startswith(PORTAL + "/callback?"), page.text[:300]
    answer = query_of(page.location)
    assert answer["state"] == params["state"] and answer["iss"] == "http://127.0.0.1:5000"
    return answer


def test_discovery_lists_the_levels_and_the_claims_parameter(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["acr_values_supported"] == [LOA1, LOA2, LOA3]
    assert meta["claims_parameter_supported"] is True


def test_portal_with_minimum_level_2_steps_a_level_1_session_up_with_the_code_only(
    client, app, make_citizen, make_portal
):
    citizen, ordinary, strict = make_citizen(), make_portal(), make_portal(minimum_acr=LOA2)
    browser = logged_in_at_level_1(client, citizen, ordinary)
    app_factor = enrol_totp(app, citizen)  # set up later, on the security page

    page, params = authorize(browser, strict)

    assert page.status == 200 and 'name="code"' in page.text
    assert 'name="password"' not in page.text  # the password is not asked again
    page = second_step(browser, page, method="totp", code=code_now(app_factor["secret"]))
    claims = id_token_claims(client, strict, page, params)
    assert claims["acr"] == LOA2 and claims["amr"] == ["pwd", "otp", "mfa"]


def test_essential_level_2_without_a_second_factor_is_an_error_to_the_portal(
    client, app, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    browser = logged_in_at_level_1(client, citizen, portal)

    page, params = authorize(browser, portal, claims=essential(LOA2))

    answer = error_at_portal(page, params)
    assert answer["error"] == "unmet_authentication_requirements" and "code" not in answer
    with app.app_context():
        unmet = select(AuditEvent).filter_by(event_type="authentication_requirements_unmet")
        event = db.session.scalar(unmet)
        assert event.citizen_pk == citizen["pk"] and event.details["required"] == LOA2


def test_minimum_level_3_without_an_in_person_check_is_an_error_after_the_login(
    client, app, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal(minimum_acr=LOA3)
    app_factor = enrol_totp(app, citizen)
    browser, params = FlaskBrowser(client), authorize_params(portal)
    page = login(browser, params, citizen["citizen_id"], citizen["password"])

    page = second_step(browser, page, method="totp", code=code_now(app_factor["secret"]))

    answer = error_at_portal(page, params)
    assert answer["error"] == "unmet_authentication_requirements"


def test_level_3_after_an_in_person_check(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(minimum_acr=LOA3)
    app_factor = enrol_totp(app, citizen)
    identity_checked(app, citizen)
    browser, params = FlaskBrowser(client), authorize_params(portal)
    page = login(browser, params, citizen["citizen_id"], citizen["password"])

    page = second_step(browser, page, method="totp", code=code_now(app_factor["secret"]))

    assert id_token_claims(client, portal, page, params)["acr"] == LOA3


def test_essential_values_are_answered_with_one_of_them(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    app_factor = enrol_totp(app, citizen)
    identity_checked(app, citizen)  # the session will be at level 3
    browser, params = FlaskBrowser(client), authorize_params(portal, claims=essential(LOA2))
    page = login(browser, params, citizen["citizen_id"], citizen["password"])

    page = second_step(browser, page, method="totp", code=code_now(app_factor["secret"]))

    assert id_token_claims(client, portal, page, params)["acr"] == LOA2  # OIDC Core §5.5.1.1


def test_voluntary_acr_values_are_best_effort_and_the_token_says_what_happened(
    client, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    browser, params = FlaskBrowser(client), authorize_params(portal, acr_values=f"{LOA2} {LOA1}")

    page = login(browser, params, citizen["citizen_id"], citizen["password"])

    assert id_token_claims(client, portal, page, params)["acr"] == LOA1  # no second factor to use


def test_voluntary_acr_values_step_up_a_citizen_who_can(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    browser = logged_in_at_level_1(client, citizen, portal)
    app_factor = enrol_totp(app, citizen)

    page, params = authorize(browser, portal, acr_values=LOA2)

    assert 'name="code"' in page.text
    page = second_step(browser, page, method="totp", code=code_now(app_factor["secret"]))
    assert id_token_claims(client, portal, page, params)["acr"] == LOA2


def test_prompt_none_when_a_step_up_is_needed_is_login_required(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    browser = logged_in_at_level_1(client, citizen, portal)
    enrol_totp(app, citizen)

    page, params = authorize(browser, portal, prompt="none", claims=essential(LOA2))

    assert error_at_portal(page, params)["error"] == "login_required"


def test_prompt_none_when_the_level_cannot_be_reached_is_unmet(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    browser = logged_in_at_level_1(client, citizen, portal)

    page, params = authorize(browser, portal, prompt="none", claims=essential(LOA2))

    assert error_at_portal(page, params)["error"] == "unmet_authentication_requirements"


def test_an_essential_level_we_do_not_offer_is_refused_at_once(client, make_portal):
    portal = make_portal()
    page, params = authorize(FlaskBrowser(client), portal, claims=essential("urn:example:loa:high"))
    assert error_at_portal(page, params)["error"] == "unmet_authentication_requirements"


@pytest.mark.parametrize("claims", ["{not json", "[1]", '{"id_token": 5}', '{"id_token": {"acr": "x"}}',
                                    '{"id_token": {"acr": {"essential": true, "values": [5]}}}'])
def test_a_malformed_claims_parameter_is_invalid_request(client, make_portal, claims):
    portal = make_portal()
    page, params = authorize(FlaskBrowser(client), portal, claims=claims)
    assert error_at_portal(page, params)["error"] == "invalid_request"


def test_a_level_2_session_satisfies_later_level_2_requests_without_asking_again(
    client, app, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal(minimum_acr=LOA2)
    app_factor = enrol_totp(app, citizen)
    browser, params = FlaskBrowser(client), authorize_params(portal)
    page = login(browser, params, citizen["citizen_id"], citizen["password"])
    second_step(browser, page, method="totp", code=code_now(app_factor["secret"]))

    page, params = authorize(browser, portal)

    assert page.status == 302 and "code=" in page.location
    assert id_token_claims(client, portal, page, params)["acr"] == LOA2


def test_a_portals_default_acr_values_apply_when_it_asks_for_none(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(default_acr_values=[LOA2])
    browser = logged_in_at_level_1(client, citizen, make_portal())
    app_factor = enrol_totp(app, citizen)

    page, params = authorize(browser, portal)

    assert 'name="code"' in page.text  # stepped up as if it had sent acr_values
    page = second_step(browser, page, method="totp", code=code_now(app_factor["secret"]))
    assert id_token_claims(client, portal, page, params)["acr"] == LOA2


def test_default_acr_values_must_be_levels_we_offer(make_portal):
    from idp.oauth.clients import InvalidClientMetadata

    with pytest.raises(InvalidClientMetadata, match="default_acr_values"):
        make_portal(default_acr_values=["urn:other:loa:9"])
