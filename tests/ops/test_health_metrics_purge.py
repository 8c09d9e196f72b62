"""Operations: liveness, readiness, metrics, housekeeping and logs."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from idp import clock, create_app
from idp.extensions import db
from idp.logs import JsonFormatter
from idp.maintenance import REPLAY_MEMORY, purge
from idp.models import AuthorizationCode, BrowserSession, Interaction, Token
from tests.http.test_tokens import sign_in


def test_healthz_says_alive_without_touching_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_checks_database_migrations_and_signing_keys(client):
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "signing_keys": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable(settings, tmp_path):
    broken = create_app(
        dataclasses.replace(
            settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", keys_dir=tmp_path / "keys"
        )
    )
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "unreachable"


def test_readyz_stays_json_when_the_database_drops_its_connection_mid_check(client, monkeypatch):
    """The database goes away between the check's SELECT and its rollback: the rollback raises
    too (as psycopg's does on a dropped connection), and a load balancer must still read JSON."""

    def dropped(*_args, **_kwargs):
        raise OperationalError("SELECT version_num FROM alembic_version", {}, Exception("connection lost"))

    monkeypatch.setattr(db.session, "execute", dropped)
    monkeypatch.setattr(db.session, "rollback", dropped)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "unreachable"


def test_a_request_during_a_database_outage_is_a_clean_retryable_503(settings, tmp_path, make_portal):
    broken = create_app(
        dataclasses.replace(
            settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", keys_dir=tmp_path / "keys"
        )
    )
    response = broken.test_client().get("/authorize", query_string={"client_id": "x", "redirect_uri": "y"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["/login", "/consent"])
def test_a_login_page_during_a_database_outage_is_a_clean_retryable_503(settings, tmp_path, page):
    """The pending request is read outside the ORM (lean.LeanDatabase.read): its driver's error
    must reach the same handler as the ORM's."""
    broken = create_app(
        dataclasses.replace(
            settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", keys_dir=tmp_path / "keys"
        )
    )
    response = broken.test_client().get(page, query_string={"interaction": "a" * 32})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "Traceback" not in response.get_data(as_text=True)


def test_metrics_count_requests_logins_and_tokens_and_report_key_age(client, make_citizen, make_portal):
    sign_in(client, make_citizen(), make_portal())
    text = client.get("/metrics").get_data(as_text=True)
    assert 'idp_logins_total{outcome="success"}' in text
    assert 'idp_tokens_issued_total{grant_type="authorization_code"}' in text
    assert 'idp_http_requests_total{endpoint="/token",method="POST",status="200"}' in text
    assert 'idp_signing_key_age_seconds{alg="RS256"}' in text


def test_made_up_methods_are_counted_as_other_and_add_no_series(client):
    for method in ("BREW", "WHEN", "XYZZY"):
        client.open("/login", method=method)

    text = client.get("/metrics").get_data(as_text=True)
    assert 'idp_http_requests_total{endpoint="unmatched",method="OTHER",status="405"}' in text
    assert "BREW" not in text and "XYZZY" not in text


def test_metrics_refuse_a_remote_client_without_the_token(settings, tmp_path):
    guarded = create_app(dataclasses.replace(settings, metrics_token="s3cret-metrics-token"))
    web = guarded.test_client()
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client_status(web, {}, remote) == 401
    assert client_status(web, {"Authorization": "Bearer wrong"}, remote) == 401
    assert client_status(web, {"Authorization": "Bearer s3cret-metrics-token"}, remote) == 200


def client_status(web, headers, environ) -> int:
    return web.get("/metrics", headers=headers, environ_overrides=environ).status_code


def test_purge_removes_only_what_expired_long_enough_ago(app, client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    sign_in(client, citizen, portal)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Token))
        assert purge(100, 900)["tokens"] == 0  # live tokens stay

        clock.advance(600 + REPLAY_MEMORY + 1)  # past expiry and the replay memory
        counts = purge(1, 900)  # a batch of one: several rounds, each committed

        assert counts["tokens"] == before
        assert counts["authorization codes"] == 1
        assert db.session.scalar(select(func.count()).select_from(AuthorizationCode)) == 0
        assert db.session.scalar(select(func.count()).select_from(BrowserSession)) == 0
        assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_json_logs_carry_the_request_id(app, client):
    formatter = JsonFormatter()
    with app.test_request_context("/", headers={"X-Request-ID": "abc-123"}):
        app.preprocess_request()
        line = formatter.format(logging.LogRecord("idp.web", logging.INFO, __file__, 1, "hello", None, None))
    entry = json.loads(line)
    assert entry["request_id"] == "abc-123" and entry["message"] == "hello" and entry["level"] == "INFO"
