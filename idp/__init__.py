"""Thai Nguyen ID: the OpenID Connect provider of Thai Nguyen province."""

from __future__ import annotations

import contextlib
from pathlib import Path

import orjson
from flask import Flask
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from . import schema
from .config import PROJECT_ROOT, Settings
from .extensions import csrf, db
from .identity.passwords import Passwords
from .keystore import KeyRing
from .keystore.database import DatabaseKeyStore
from .keystore.files import FileKeyStore
from .keystore.lifecycle import Policy
from .keystore.passphrase import resolve_passphrase
from .logs import configure_logging
from .services import Services
from .web.application import App

TEMPLATES = PROJECT_ROOT / "templates"


class PathPrefix:
    """Mount the app at the issuer's path (``https://host/idp``) whether or not the reverse proxy
    strips that prefix, so every URL the app builds carries it."""

    def __init__(self, app, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["PATH_INFO"] = path[len(self.prefix) :] or "/"
        environ["SCRIPT_NAME"] = self.prefix
        return self.app(environ, start_response)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the provider. ``settings`` defaults to the ``IDP_*`` environment."""
    settings = settings or Settings.from_env()
    configure_logging(settings)
    settings.instance_dir.mkdir(parents=True, exist_ok=True)

    app = App(
        __name__,
        template_folder=str(TEMPLATES),
        static_folder=str(TEMPLATES / "static"),
        instance_path=str(settings.instance_dir),
    )
    app.config.update(
        SECRET_KEY=settings.resolve_secret_key(),
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        SESSION_COOKIE_NAME="__Host-tnid_csrf" if settings.https else "tnid_csrf",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=64 * 1024,
        MAX_FORM_PARTS=200,
        PREFERRED_URL_SCHEME="https" if settings.https else "http",
    )
    app.json.sort_keys = False
    db.init_app(app)
    csrf.init_app(app)
    app.teardown_appcontext(_end_transaction_quietly)
    _register_sqlite_pragmas(app)

    passwords = Passwords(
        settings.argon2_time_cost,
        settings.argon2_memory_cost,
        settings.argon2_parallelism,
        settings.argon2_concurrency,
    )
    keyring = build_keyring(settings)
    app.extensions["idp"] = Services(settings=settings, passwords=passwords, keyring=keyring)
    with app.app_context():
        _audit_key_changes(keyring.start())  # first start: an active and a next key per algorithm

    from . import metrics
    from .oauth.discovery import document
    from .oauth.server import create_authorization_server
    from .security import headers, ratelimit, request_id
    from .web import auth, device, errors, health, i18n, oidc, par, registration
    from .web.i18n import language_switch_url, remember_language, t
    from .web.params import check_encoding

    app.extensions["idp.oauth"] = create_authorization_server(app)
    app.extensions["idp.discovery"] = document(settings)
    # First of all before_request functions: the CSRF check reads the form, and must not read it
    # before its encoding is known to be valid.
    app.before_request_funcs.setdefault(None, []).insert(0, check_encoding)
    app.register_blueprint(oidc.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(health.bp)
    from . import notify
    from .web import recovery, signup

    notify.init_app(app, settings)
    app.register_blueprint(signup.bp)
    app.register_blueprint(recovery.bp)
    from .web import account, activation

    app.register_blueprint(account.bp)
    app.register_blueprint(activation.bp)
    from .web import second_factor, security_settings

    app.register_blueprint(second_factor.bp)
    app.register_blueprint(security_settings.bp)
    app.register_blueprint(registration.bp)
    app.register_blueprint(par.bp)
    app.register_blueprint(device.bp)
    app.extensions["idp.migration_head"] = schema.head()
    metrics.init_app(app, keyring)
    request_id.init_app(app)
    ratelimit.init_app(app, settings)
    errors.init_app(app)
    headers.init_app(app, settings.https)
    # The language link of a page: the view's own lang_url when it gives one (the login pages
    # do), else this page in the other language, worked out only then.
    app.jinja_env.globals.update(t=t, language_switch_url=language_switch_url)
    i18n.init_app(app)
    app.after_request(remember_language)
    app.context_processor(_template_context)

    from .lean import LeanDatabase
    from .web.fastpath import StaticFastPath
    from .web.hotpath import HotPath

    with app.app_context():
        lean_database = LeanDatabase(db.engine)
    app.extensions["idp.lean"] = lean_database
    app.wsgi_app = HotPath(app, lean_database, settings, app.extensions["idp.limiter"])
    app.wsgi_app = StaticFastPath(
        app.wsgi_app, app.extensions["idp.discovery"], keyring, settings.jwks_max_age, settings.https
    )
    if settings.trust_proxy:
        # One reverse proxy in front (nginx): its X-Forwarded-For is the citizen's address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    if settings.issuer_path:
        app.wsgi_app = PathPrefix(app.wsgi_app, settings.issuer_path)
    return app


def _end_transaction_quietly(_exc: BaseException | None) -> None:
    """Close the session before Flask-SQLAlchemy does (teardowns run in reverse order): if the
    database went away after the answer was made, the ROLLBACK inside close() would otherwise fail
    outside every error handler and turn a finished answer into a bare 500."""
    if not db.session.registry.has():
        return  # nothing touched the database (static pages, redirects): no session to close
    try:
        db.session.close()
    except (OperationalError, InterfaceError):
        # The connection is gone: drop it, so the pool does not hand it out again.
        with contextlib.suppress(Exception):
            db.session.invalidate()


def _audit_key_changes(changes) -> None:
    from .security import audit

    if not changes:
        return
    try:
        for change in changes:
            audit.record(f"key_{change.action}", "info", actor="service", kid=change.kid, alg=change.alg)
        db.session.commit()
    except Exception:
        db.session.rollback()


def build_keyring(settings: Settings) -> KeyRing:
    passphrase = resolve_passphrase(settings)
    if settings.keys_store == "database":
        store = DatabaseKeyStore(settings.database_url, passphrase, settings.instance_dir)
    else:
        store = FileKeyStore(Path(settings.keys_dir), passphrase)
    policy = Policy(
        algorithms=settings.signing_algs,
        rsa_bits=settings.rsa_key_bits,
        retire_grace=settings.id_token_ttl + settings.clock_skew,
        min_publication=settings.jwks_max_age + settings.key_cache_seconds,
    )
    return KeyRing(store, settings.signing_algs, settings.key_cache_seconds, policy)


def _template_context() -> dict:
    from .web.i18n import current_locale, other_locale, texts

    locale = current_locale()
    # t() in a template: the page's words are looked up in its language's texts directly (the
    # global t() would find the language again for each of a page's dozen words).
    return {"locale": locale, "other_locale": other_locale(), "t": texts(locale).__getitem__}


def _engine_options(settings: Settings) -> dict:
    # The JSON columns (amr, scopes, audit details…) written and read with orjson: a token
    # request encodes several, and the standard library took ≈ 15 times as long for each.
    json_codec = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if settings.database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}, **json_codec}
    # pre_ping: after a database restart, stale connections are replaced instead of failing requests.
    return {
        **json_codec,
        "pool_pre_ping": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
        "pool_timeout": 5,
        "connect_args": {"connect_timeout": 5},
    }


def _json_text(value) -> str:
    """orjson's compact UTF-8 JSON, as the str SQLAlchemy's JSON type binds."""
    return orjson.dumps(value).decode()


SQLITE_CACHE_KIB = 512


def _register_sqlite_pragmas(app: Flask) -> None:
    """WAL + synchronous=NORMAL: readers never wait for the writer; a power cut may lose the last
    transactions but never corrupts the file (../shared/SERVING.md measured FULL at half speed)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    import sqlite3

    from sqlalchemy import event

    # Python's sqlite3 looks for an adapter for every None it binds, and the miss raises and
    # formats an AttributeError inside the module: ≈ 2 % of a token request's instructions (eight
    # NULLs in its two rows; callgrind, bench/CHANGES.md). Registered, the lookup is a dictionary
    # hit: {}.get(None) is None, so NULL is still bound as NULL, without a Python frame.
    sqlite3.register_adapter(type(None), {}.get)

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            # A connection drops its page cache whenever another connection has written (WAL),
            # which under load is between any two of its transactions, so SQLite's default 2 MB
            # per connection held memory more than pages: with a connection per blocking thread
            # for the pages and one for the fast path, eight threads ended a ten-flow benchmark at
            # 118-122 MB, at 108.7 MB with 512 KiB caches and the same rates (bench/CHANGES.md). The
            # fast path's writer, whose cache outlives its commits, keeps 2 MB (lean._new_writer).
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cursor.close()
