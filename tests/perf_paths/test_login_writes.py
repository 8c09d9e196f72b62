"""An ordinary login's three pages (GET /authorize, POST /login, POST /consent) write through
the group commit (lean.deferring), not in Session transactions of their own: no Session
transaction begins, and what they wrote is all there once the portal has its code."""

from __future__ import annotations

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from idp.extensions import db
from idp.models import AuditEvent, AuthorizationCode, BrowserSession, Consent, Interaction
from tests.support import FlaskBrowser, authorize_params, login, query_of


def test_a_login_s_pages_begin_no_session_transaction_and_write_everything(
    app, client, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    begun: list[str] = []

    def on_begin(session, transaction, connection) -> None:
        begun.append("begin")

    event.listen(Session, "after_begin", on_begin)
    try:
        page = login(
            FlaskBrowser(client), authorize_params(portal), citizen["citizen_id"], citizen["password"]
        )
    finally:
        event.remove(Session, "after_begin", on_begin)

    assert page.status == 302 and "code" in query_of(page.location)
    assert begun == []
    with app.app_context():
        count = {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                 for m in (AuthorizationCode, BrowserSession, Consent, Interaction)}
        events = set(db.session.scalars(select(AuditEvent.event_type)))
    assert count == {"AuthorizationCode": 1, "BrowserSession": 1, "Consent": 1, "Interaction": 0}
    assert {"login_succeeded", "consent_given", "code_issued"} <= events
