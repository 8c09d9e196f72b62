"""The audit trail: every security event on record, with who, where and which request — and never
a secret."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from idp.extensions import db
from idp.models import AuditEvent
from tests.http.test_tokens import basic, redeem, sign_in
from tests.security.conftest import try_login
from tests.support import FlaskBrowser, authorize_params, login, query_of


def events(app) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def types(app) -> list[str]:
    return [e.event_type for e in events(app)]


def test_a_login_to_a_portal_leaves_its_story_in_order(app, client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()

    sign_in(client, citizen, portal, scope="openid profile offline_access")

    story = [t for t in types(app) if t != "client_created"]
    assert story == ["login_succeeded", "consent_given", "code_issued", "code_redeemed", "tokens_issued",
                     "claims_released"]  # the ID token, for the citizen's access history
    login_event = events(app)[1]
    assert login_event.citizen_pk == citizen["pk"] and login_event.client_id == portal["client_id"]
    assert login_event.ip_address == "127.0.0.1" and login_event.request_id


def test_failed_logins_are_recorded_with_their_reason(app, client, make_citizen):
    citizen = make_citizen()
    try_login(client, citizen["citizen_id"], "sai-mat-khau-12345")
    try_login(client, "019195999999", "sai-mat-khau-12345")

    failed = [e for e in events(app) if e.event_type == "login_failed"]
    assert [(e.citizen_pk, e.details["reason"]) for e in failed] == [
        (citizen["pk"], "wrong_password"),
        (None, "unknown_account"),
    ]


def test_a_replayed_code_and_a_reused_refresh_token_are_recorded(app, client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    params = authorize_params(portal, scope="openid offline_access")
    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])
    code = query_of(page.location)["code"]
    redeem(client, portal, code, params["_verifier"])
    redeem(client, portal, code, params["_verifier"])  # replayed: that login's tokens are revoked
    issued = sign_in(client, citizen, portal, scope="openid offline_access")  # a second login
    refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    client.post("/token", data=refresh, headers=basic(portal))
    client.post("/token", data=refresh, headers=basic(portal))

    recorded = types(app)
    assert "code_replayed" in recorded and "tokens_refreshed" in recorded
    assert "refresh_token_reuse_detected" in recorded
    reuse = next(e for e in events(app) if e.event_type == "refresh_token_reuse_detected")
    assert reuse.outcome == "failure" and reuse.details["tokens_revoked"] >= 1


def test_no_audit_row_ever_holds_a_password_code_or_token(app, client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    params = authorize_params(portal, scope="openid offline_access")
    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])
    code = query_of(page.location)["code"]
    issued = redeem(client, portal, code, params["_verifier"]).get_json()
    client.post("/revoke", data={"token": issued["refresh_token"]}, headers=basic(portal))
    try_login(client, citizen["citizen_id"], "sai-mat-khau-12345")

    dump = json.dumps(
        [{c: str(getattr(e, c)) for c in ("details", "user_agent", "actor")} for e in events(app)]
    )
    for secret in (
        citizen["password"],
        "sai-mat-khau-12345",
        code,
        issued["access_token"],
        issued["refresh_token"],
        issued["id_token"],
        portal["client_secret"],
    ):
        assert secret not in dump


def test_each_event_is_also_a_json_log_line(app, client, make_citizen, caplog):
    citizen = make_citizen()
    with caplog.at_level(logging.INFO, logger="idp.audit"):
        try_login(client, citizen["citizen_id"], citizen["password"])
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "idp.audit"]
    assert any(line["audit"] == "login_succeeded" and line["citizen"] == citizen["pk"] for line in lines)


def test_the_request_id_given_by_the_proxy_is_echoed_and_recorded(app, client, make_citizen):
    citizen = make_citizen()
    page = client.get("/login")
    assert page.headers["X-Request-ID"]
    from tests.security.conftest import login_page

    response = client.post(
        "/login",
        data={**login_page(client), "identifier": citizen["citizen_id"], "password": citizen["password"]},
        headers={"X-Request-ID": "nginx-4f2a9c"},
    )
    assert response.headers["X-Request-ID"] == "nginx-4f2a9c"
    assert events(app)[-1].request_id == "nginx-4f2a9c"


def test_a_hostile_request_id_is_replaced(client):
    response = client.get("/login", headers={"X-Request-ID": "<script>" + "x" * 100})
    assert response.headers["X-Request-ID"] != "<script>" + "x" * 100


def test_the_trail_is_append_only(app, client, make_citizen):
    citizen = make_citizen()
    try_login(client, citizen["citizen_id"], citizen["password"])
    with app.app_context():
        with pytest.raises(DBAPIError):
            db.session.execute(update(AuditEvent).values(outcome="tampered"))
        db.session.rollback()
        if db.session.get_bind().dialect.name == "postgresql":
            with pytest.raises(DBAPIError):
                db.session.execute(text("DELETE FROM audit_events"))
            db.session.rollback()
    assert "tampered" not in [e.outcome for e in events(app)]
