"""The hot path (idp/web/hotpath.py) answers the ordinary client_credentials, introspection and
userinfo requests before Flask. It must answer exactly as the full endpoints do, keep their audit
rows and rate limit, act at once on a new secret or a deleted portal on every instance, and pass
everything unusual on to the full endpoint."""

from __future__ import annotations

import base64
import contextlib
import functools
import shutil
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from idp import SQLITE_CACHE_KIB
from idp.extensions import db
from idp.models import AuditEvent, Client, Token
from idp.oauth import clients
from tests.http.test_introspection_revocation import introspect, refresh
from tests.http.test_tokens import (
    authorize,
    basic,
    bearer,
    client_credentials,
    error_of,
    redeem,
    service_portal,
    sign_in,
)


def count_full_endpoint_calls(app) -> dict[str, int]:
    """Count the calls that reach the full Flask views (the hot path never calls them)."""
    calls = {"oidc.token": 0, "oidc.introspect": 0, "oidc.userinfo": 0}
    for endpoint in calls:
        view = app.view_functions[endpoint]

        @functools.wraps(view)  # the same name: the view stays exempt from CSRF like the original
        def counted(*args, _view=view, _endpoint=endpoint, **kwargs):
            calls[_endpoint] += 1
            return _view(*args, **kwargs)

        app.view_functions[endpoint] = counted
    return calls


def test_ordinary_requests_are_answered_without_the_full_endpoints(make_app, make_citizen, make_portal):
    app = make_app()
    calls = count_full_endpoint_calls(app)
    web = app.test_client()
    service = service_portal(make_portal)
    portal = make_portal()
    tokens = sign_in(web, make_citizen(), portal, scope="openid profile offline_access")  # a code exchange

    issued = client_credentials(web, service)
    looked_up = introspect(web, portal, tokens["access_token"])
    claims = web.get("/userinfo", headers=bearer(tokens["access_token"]))
    refreshed = refresh(web, portal, tokens["refresh_token"])

    assert issued.status_code == looked_up.status_code == claims.status_code == refreshed.status_code == 200
    assert looked_up.get_json()["active"] is True and claims.get_json()["sub"]
    assert {"access_token", "refresh_token", "id_token"} <= tokens.keys() <= refreshed.get_json().keys()
    assert calls == {"oidc.token": 0, "oidc.introspect": 0, "oidc.userinfo": 0}


def form_encoded_basic(portal: dict) -> dict:
    """Basic credentials as openid-client (oauth4webapi) sends them: each part form-encoded first
    (RFC 6749 §2.3.1), "-", "_", "." and "~" included."""
    def encode(value: str) -> str:
        return "".join(c if c.isalnum() else f"%{ord(c):02X}" for c in value)

    raw = f"{encode(portal['client_id'])}:{encode(portal['client_secret'])}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def test_form_encoded_credentials_are_read_as_authlib_reads_them(make_app, make_citizen, make_portal):
    app = make_app()
    calls = count_full_endpoint_calls(app)
    web = app.test_client()
    service = service_portal(make_portal)
    assert "%2D" in base64.b64decode(form_encoded_basic(service)["Authorization"][6:]).decode()

    issued = web.post("/token", headers=form_encoded_basic(service),
                      data={"grant_type": "client_credentials", "scope": "api:read"})
    looked_up = web.post("/introspect", headers=form_encoded_basic(service),
                         data={"token": issued.get_json()["access_token"]})

    assert issued.status_code == 200 and looked_up.get_json()["active"] is True
    assert calls == {"oidc.token": 0, "oidc.introspect": 0, "oidc.userinfo": 0}


def test_a_code_redeemed_on_the_hot_path_is_caught_when_replayed(make_app, make_citizen, make_portal):
    app = make_app()
    calls = count_full_endpoint_calls(app)
    web = app.test_client()
    portal = make_portal()
    code, params = authorize(web, make_citizen(), portal)
    first = redeem(web, portal, code, params["_verifier"])

    replayed = redeem(web, portal, code, params["_verifier"])

    assert first.status_code == 200 and replayed.status_code == 400 and error_of(replayed) == "invalid_grant"
    assert calls["oidc.token"] == 1  # replay detection is the full endpoint's
    assert introspect(web, portal, first.get_json()["access_token"]).get_json() == {"active": False}


def test_a_refresh_token_spent_on_the_hot_path_is_caught_when_reused(make_app, make_citizen, make_portal):
    app = make_app()
    calls = count_full_endpoint_calls(app)
    web = app.test_client()
    portal = make_portal()
    first = sign_in(web, make_citizen(), portal, scope="openid profile offline_access")
    second = refresh(web, portal, first["refresh_token"]).get_json()
    calls["oidc.token"] = 0

    reused = refresh(web, portal, first["refresh_token"])

    assert reused.status_code == 400 and error_of(reused) == "invalid_grant"
    assert calls["oidc.token"] == 1  # reuse detection is the full endpoint's
    assert introspect(web, portal, second["access_token"]).get_json() == {"active": False}
    assert refresh(web, portal, second["refresh_token"]).status_code == 400


def test_anything_unusual_is_passed_on_and_answered_by_the_full_endpoint(make_app, make_portal):
    app = make_app()
    calls = count_full_endpoint_calls(app)
    web = app.test_client()
    service = service_portal(make_portal)

    wrong_secret = web.post("/token", headers=basic(service, secret="tnid_cs_wrong"),
                            data={"grant_type": "client_credentials", "scope": "api:read"})
    refused_scope = client_credentials(web, service, scope="openid")
    unknown_token = web.get("/userinfo", headers=bearer("tnid_at_unknown"))

    assert wrong_secret.status_code == 401 and error_of(wrong_secret) == "invalid_client"
    assert refused_scope.status_code == 400 and error_of(refused_scope) == "invalid_scope"
    assert unknown_token.status_code == 401 and "invalid_token" in unknown_token.headers["WWW-Authenticate"]
    assert calls == {"oidc.token": 2, "oidc.introspect": 0, "oidc.userinfo": 1}


def test_the_hot_and_the_full_endpoint_give_the_same_answer(client, make_citizen, make_portal):
    portal = make_portal()
    tokens = sign_in(client, make_citizen(), portal)
    service = service_portal(make_portal)

    # A query string is one of the things the hot path leaves to the full endpoint.
    pairs = [
        (introspect(client, portal, tokens["access_token"]),
         client.post("/introspect?full=1", headers=basic(portal), data={"token": tokens["access_token"]})),
        (client.get("/userinfo", headers=bearer(tokens["access_token"])),
         client.get("/userinfo?full=1", headers=bearer(tokens["access_token"]))),
        (client_credentials(client, service),
         client.post("/token?full=1", headers=basic(service),
                     data={"grant_type": "client_credentials", "scope": "api:read"})),
    ]

    for hot, full in pairs:
        assert hot.status_code == full.status_code == 200
        assert dict(hot.headers.items()).keys() == dict(full.headers.items()).keys()
        for name in ("Content-Type", "Cache-Control", "Pragma", "Content-Security-Policy", "X-Frame-Options"):
            assert hot.headers.get(name) == full.headers.get(name), name
        hot_body, full_body = hot.get_json(), full.get_json()
        hot_body.pop("access_token", None), full_body.pop("access_token", None)
        assert hot_body == full_body
        assert list(hot_body) == list(full_body)  # the same order too


def test_a_hot_token_leaves_the_same_audit_row_with_address_agent_and_request_id(app, client, make_portal):
    service = service_portal(make_portal)

    response = client.post(
        "/token",
        headers={**basic(service), "X-Request-ID": "portal-req-42", "User-Agent": "cong-dich-vu/1.0"},
        data={"grant_type": "client_credentials", "scope": "api:read"},
        environ_overrides={"REMOTE_ADDR": "10.20.30.40"},
    )

    assert response.status_code == 200 and response.headers["X-Request-ID"] == "portal-req-42"
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "tokens_issued")).one()
        assert (event.client_id, event.actor, event.outcome) == (service["client_id"], "portal", "success")
        assert (event.ip_address, event.user_agent, event.request_id) == (
            "10.20.30.40", "cong-dich-vu/1.0", "portal-req-42")
        assert event.details["grant_type"] == "client_credentials" and event.details["scope"] == "api:read"
        assert "access_token" not in str(event.details)


def test_a_new_secret_and_a_deleted_portal_act_at_once_on_another_instance(make_app, make_portal):
    admin, other = make_app(), make_app()
    service = service_portal(make_portal)
    web = other.test_client()
    assert client_credentials(web, service).status_code == 200

    with admin.app_context():
        new_secret = clients.new_secret(clients.find(service["client_id"]))
        db.session.commit()
    old_refused = client_credentials(web, service)
    new_accepted = client_credentials(web, {**service, "client_secret": new_secret})
    with admin.app_context():
        clients.delete(clients.find(service["client_id"]))
        db.session.commit()
    after_deletion = client_credentials(web, {**service, "client_secret": new_secret})

    assert old_refused.status_code == 401 and error_of(old_refused) == "invalid_client"
    assert new_accepted.status_code == 200
    assert after_deletion.status_code == 401 and error_of(after_deletion) == "invalid_client"


def test_a_portal_changed_on_another_instance_is_refused_at_once_though_its_row_is_cached(
    make_app, make_portal
):
    admin, other = make_app(), make_app()
    service = service_portal(make_portal, scopes=["api:read", "api:write"])
    web = other.test_client()
    assert client_credentials(web, service, scope="api:write").status_code == 200  # its row now cached

    with admin.app_context():
        portal = clients.find(service["client_id"])
        portal.scopes = ["api:read"]
        db.session.commit()
    narrowed = client_credentials(web, service, scope="api:write")
    with admin.app_context():
        clients.find(service["client_id"]).grant_types = ["authorization_code"]
        db.session.commit()
    no_longer_allowed = client_credentials(web, service, scope="api:read")

    assert narrowed.status_code == 400 and error_of(narrowed) == "invalid_scope"
    assert no_longer_allowed.status_code == 400 and error_of(no_longer_allowed) == "unauthorized_client"
    with other.app_context():
        assert db.session.scalar(select(func.count()).select_from(Token)) == 1  # only the first


def test_a_portal_row_is_read_once_and_again_only_after_it_changed(make_app, make_portal, monkeypatch):
    from idp import lean
    from idp.oauth import hotpath

    reads = []
    first = lean.LeanConnection.first

    def counted(conn, stmt, *args, **kwargs):
        if stmt is hotpath.FIND_CLIENT:
            reads.append(1)
        return first(conn, stmt, *args, **kwargs)

    monkeypatch.setattr(lean.LeanConnection, "first", counted)
    app = make_app()
    calls = count_full_endpoint_calls(app)
    web = app.test_client()
    service = service_portal(make_portal)

    before = [client_credentials(web, service).status_code for _ in range(5)]
    with app.app_context():
        new_secret = clients.new_secret(clients.find(service["client_id"]))
        db.session.commit()
    old_secret = client_credentials(web, service)
    after = [client_credentials(web, {**service, "client_secret": new_secret}).status_code for _ in range(5)]

    assert before == after == [200] * 5
    assert old_secret.status_code == 401 and error_of(old_secret) == "invalid_client"
    assert len(reads) == 2  # the first token, and the first after the new secret
    assert calls["oidc.token"] == 1  # only the old secret's refusal


def test_every_change_to_a_portal_raises_its_revision(app):
    with app.app_context():
        portal, _secret = clients.register(clients.ClientSpec(
            name="Cổng dịch vụ", redirect_uris=[], scopes=["api:read"], grant_types=["client_credentials"]))
        db.session.commit()
        revisions = [portal.revision]
        clients.new_secret(portal)
        db.session.commit()
        revisions.append(portal.revision)
        portal.name = "Cổng dịch vụ công"
        db.session.commit()
        revisions.append(portal.revision)

    assert revisions == sorted(set(revisions)) and len(revisions) == 3


def test_a_request_passed_on_is_counted_once_by_the_token_limit(make_app, make_portal):
    web = make_app(ratelimit_token="3/minute").test_client()
    service = service_portal(make_portal)

    # Counted by the hot path, then passed on to the full endpoint for its 401: counted once.
    answers = [web.post("/token", headers=basic(service, secret="tnid_cs_wrong"),
                        data={"grant_type": "client_credentials"}).status_code for _ in range(3)]
    blocked = client_credentials(web, service)

    assert answers == [401, 401, 401]
    assert blocked.status_code == 429 and error_of(blocked) == "temporarily_unavailable"
    assert "Retry-After" in blocked.headers


def test_concurrent_token_requests_are_each_committed_with_their_audit_row(app, make_portal):
    service = service_portal(make_portal)
    local = threading.local()

    def one(_):
        if not hasattr(local, "web"):
            local.web = app.test_client()
        return client_credentials(local.web, service)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(one, range(80)))

    assert [r.status_code for r in responses] == [200] * 80
    issued = {r.get_json()["access_token"] for r in responses}
    assert len(issued) == 80
    with app.app_context():
        kept = db.session.scalar(select(func.count()).select_from(Token).where(
            Token.client_id == service["client_id"]))
        audited = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.event_type == "tokens_issued", AuditEvent.client_id == service["client_id"]))
        assert db.session.scalar(select(Client.client_id).where(Client.client_id == service["client_id"]))
    assert kept == audited == 80


def lean_database_of(app):
    hot = app.wsgi_app.wsgi_app  # StaticFastPath → HotPath
    return hot.database


def test_a_dead_connection_is_dropped_and_the_request_answered_by_the_full_endpoint(make_app, make_portal):
    # The hot path's connections are not pinged before use (a round trip per request on
    # PostgreSQL): one that died is seen when it fails, closed, never reused.
    app = make_app()
    calls = count_full_endpoint_calls(app)
    web = app.test_client()
    service = service_portal(make_portal)
    assert client_credentials(web, service).status_code == 200
    lean_db = lean_database_of(app)
    dead = lean_db._idle[-1]
    dead.close()  # as a restarted database server leaves it

    answered = client_credentials(web, service)
    again = client_credentials(web, service)

    assert answered.status_code == again.status_code == 200
    assert calls["oidc.token"] == 1  # only the request that met the dead connection
    assert dead not in lean_db._idle


def test_a_hot_connection_is_reused_and_the_idle_ones_are_bounded(make_app, make_portal):
    app = make_app()
    web = app.test_client()
    service = service_portal(make_portal)
    lean_db = lean_database_of(app)

    for _ in range(5):
        assert client_credentials(web, service).status_code == 200
        assert introspect(web, service, "tnid_at_unknown").get_json() == {"active": False}

    assert len(lean_db._idle) == 1 and not lean_db._busy  # one thread: one connection, back
    assert len(lean_db._idle) <= lean_db._max_idle


def test_the_parsed_client_credentials_bodies_kept_hold_no_secret(make_app, make_portal):
    from idp.web import hotpath as web_hotpath

    web = make_app().test_client()
    service = service_portal(make_portal)
    in_the_form = web.post("/token", data={"grant_type": "client_credentials", "scope": "api:read",
                                           "client_id": service["client_id"],
                                           "client_secret": service["client_secret"]})
    twice = [client_credentials(web, service).get_json()["access_token"] for _ in range(2)]

    assert in_the_form.status_code == 401  # the full endpoint: this portal authenticates with Basic
    assert twice[0] != twice[1]  # a kept body is a parsed form, never an answer
    kept = str(web_hotpath._CC_FORMS)
    assert service["client_secret"] not in kept and "client_secret" not in kept
    assert all(form.keys() <= {"grant_type", "scope"} for form in web_hotpath._CC_FORMS.values())


def tokens_in_the_database_file(app, tmp_path, client_id: str) -> int:
    """The portal's tokens in the SQLite database file itself, without its WAL: what a checkpoint
    has copied there (a copy of the file, opened immutable, reads nothing else)."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(path, copy)
    with contextlib.closing(sqlite3.connect(f"file:{copy}?immutable=1", uri=True)) as conn:
        return conn.execute("SELECT count(*) FROM tokens WHERE client_id = ?", (client_id,)).fetchone()[0]


def sqlite_app_and_service(make_app, make_portal, what: str):
    """An app on SQLite (else the test is skipped: it is about ``what``), its hot path's
    database, a test client and a client_credentials portal."""
    app = make_app()
    lean_db = lean_database_of(app)
    if not lean_db.is_sqlite:
        pytest.skip(what)
    return app, lean_db, app.test_client(), service_portal(make_portal)


def test_the_wal_is_checkpointed_by_every_nth_group_commit(
    make_app, make_portal, tmp_path
):
    # SQLite's own checkpoint would run inside the commit, every other writer waiting for the
    # disk with it; the hot path's writer leaves it to every Nth request, outside the lock.
    app, lean_db, web, service = sqlite_app_and_service(make_app, make_portal, "a SQLite WAL")
    with app.app_context():
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))  # the file holds everything so far
    lean_db.checkpoint_every = 3

    first_two = [client_credentials(web, service).status_code for _ in range(2)]
    before = tokens_in_the_database_file(app, tmp_path, service["client_id"])
    third = client_credentials(web, service).status_code

    assert [*first_two, third] == [200, 200, 200]
    assert before == 0  # committed, in the WAL only
    assert tokens_in_the_database_file(app, tmp_path, service["client_id"]) == 3


def test_only_a_long_wal_makes_the_checkpoint_stop_the_writers(make_app, make_portal):
    # The pass under the write lock waits for the disk twice with every writer waiting: it is
    # taken only when commits keep the pass outside it from copying the whole WAL (here, a reader
    # holding an older snapshot) and the WAL has grown long.
    app, lean_db, web, service = sqlite_app_and_service(make_app, make_portal, "a SQLite WAL")
    assert client_credentials(web, service).status_code == 200
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM tokens").fetchone()  # its snapshot: the first token
        assert client_credentials(web, service).status_code == 200  # committed behind it

        def checkpoint_while_a_commit_holds_the_lock() -> bool:
            finished = threading.Event()

            def checkpoint() -> None:
                with lean_db.connect() as conn:
                    lean_db._checkpoint(conn)
                finished.set()

            with lean_db._leader:
                thread = threading.Thread(target=checkpoint)
                thread.start()
                done_meanwhile = finished.wait(2)
            thread.join(10)
            return done_meanwhile

        lean_db.locked_checkpoint_frames = 1_000_000
        short_wal = checkpoint_while_a_commit_holds_the_lock()
        lean_db.locked_checkpoint_frames = 1
        long_wal = checkpoint_while_a_commit_holds_the_lock()

    assert short_wal is True  # copied what it could and left the rest for later
    assert long_wal is False  # waited for the lock to finish the copy


def test_only_the_writer_keeps_a_large_page_cache(make_app, make_portal):
    # Every other connection's cache is dropped whenever another connection writes; theirs are
    # small so that a connection per thread does not hold memory for nothing.
    app, lean_db, web, service = sqlite_app_and_service(make_app, make_portal, "SQLite's page cache")
    assert client_credentials(web, service).status_code == 200  # the writer now exists

    with app.app_context():
        page_connection = db.session.execute(text("PRAGMA cache_size")).scalar()
    with lean_db.connect() as conn:
        fast_path_reader = conn.raw.execute("PRAGMA cache_size").fetchone()[0]
    with lean_db._leader:
        writer = lean_db._writer.execute("PRAGMA cache_size").fetchone()[0]

    assert page_connection == fast_path_reader == -SQLITE_CACHE_KIB == -512  # KiB
    assert writer == -2000  # SQLite's default, 2 MB
