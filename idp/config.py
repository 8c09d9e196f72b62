"""Every setting of Thai Nguyen ID, read from ``IDP_*`` environment variables and validated once.

Nothing else in the package reads ``os.environ``. A bad value stops start-up with a message that
names the variable and says what is expected, so an operator never meets it at the first request.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SUPPORTED_SIGNING_ALGS = ("RS256", "PS256", "ES256", "EdDSA")


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(name: str, raw: str) -> int:
    match = _DURATION.match(raw)
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(f"{name}={raw!r}: expected a positive duration such as 600, 10m, 12h or 30d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r}: expected a whole number from {low} to {high}")
    return value


def parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def parse_issuer(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(
            f"{name}={raw!r}: expected an absolute https URL such as https://id.thainguyen.gov.vn"
        )
    if parts.scheme == "http" and not loopback:
        raise ConfigError(f"{name}={raw!r}: http is allowed only on loopback; use https")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name}={raw!r}: the issuer must not have a query or fragment (OIDC Discovery §3)")
    # One spelling of the issuer everywhere: no trailing slash, because `iss` is compared exactly.
    return raw.rstrip("/")


def parse_alg(name: str, raw: str) -> str:
    if raw not in SUPPORTED_SIGNING_ALGS:
        raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(SUPPORTED_SIGNING_ALGS)}")
    return raw


def parse_algs(name: str, raw: str) -> tuple[str, ...]:
    algs = tuple(dict.fromkeys(a.strip() for a in raw.split(",") if a.strip()))
    if not algs or any(a not in SUPPORTED_SIGNING_ALGS for a in algs):
        raise ConfigError(
            f"{name}={raw!r}: expected a comma-separated list of {', '.join(SUPPORTED_SIGNING_ALGS)}"
        )
    return algs


def parse_rsa_bits(name: str, raw: str) -> int:
    if raw not in ("2048", "3072", "4096"):
        raise ConfigError(f"{name}={raw!r}: expected 2048, 3072 or 4096")
    return int(raw)


def parse_key_store(name: str, raw: str) -> str:
    if raw not in ("files", "database"):
        raise ConfigError(f"{name}={raw!r}: expected files or database")
    return raw


def parse_rate_limit(name: str, raw: str) -> str:
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected limits such as '10/minute;100/hour'") from None
    return raw


def parse_storage_uri(name: str, raw: str) -> str:
    if not raw.startswith(("memory://", "redis://", "rediss://")):
        raise ConfigError(f"{name}={raw!r}: expected memory:// or redis://host:port/db")
    return raw


def parse_webhook_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{name}={raw!r}: expected an https URL such as https://sms.example.vn/send")
    if parts.scheme == "http" and not loopback:
        raise ConfigError(f"{name}={raw!r}: http is allowed only on loopback; use https")
    return raw


def _check_notify(values: dict) -> None:
    """A chosen delivery back-end must be usable now, not at the first citizen's registration."""
    if values["notify_email"] == "smtp":
        for key, env in (("smtp_host", "IDP_SMTP_HOST"), ("smtp_from", "IDP_SMTP_FROM")):
            if not values[key]:
                raise ConfigError(f"{env} is required when IDP_NOTIFY_EMAIL=smtp")
        local = values["smtp_host"] in ("127.0.0.1", "localhost", "::1")
        if values["smtp_security"] == "plain" and values["smtp_username"] and not local:
            raise ConfigError(
                "IDP_SMTP_SECURITY=plain would send IDP_SMTP_PASSWORD unencrypted to "
                f"{values['smtp_host']}: use starttls or ssl"
            )
    if values["notify_sms"] == "webhook" and not values["sms_webhook_url"]:
        raise ConfigError("IDP_SMS_WEBHOOK_URL is required when IDP_NOTIFY_SMS=webhook")


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r}: expected {' or '.join(choices)}")
    return raw


def parse_locale(name: str, raw: str) -> str:
    if raw not in ("vi", "en"):
        raise ConfigError(f"{name}={raw!r}: expected vi or en")
    return raw


def parse_log_level(name: str, raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{name}={raw!r}: expected DEBUG, INFO, WARNING or ERROR")
    return level


def _setting(env: str, default: str | None, parse: Callable[[str, str], object] | None, doc: str):
    return field(default=None, metadata={"env": env, "default": default, "parse": parse, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """The validated settings. ``Settings.from_env()`` is the only constructor the app uses."""

    issuer: str = _setting(
        "IDP_ISSUER",
        "http://127.0.0.1:5000",
        parse_issuer,
        "The exact public URL of the provider; every absolute URL derives from it.",
    )
    instance_dir: Path = _setting(
        "IDP_INSTANCE_DIR",
        str(PROJECT_ROOT / "instance"),
        None,
        "Where the embedded database and the generated secret key live.",
    )
    database_url: str = _setting(
        "IDP_DATABASE_URL", None, None, "SQLAlchemy URL. Default: a SQLite file in the instance folder."
    )
    secret_key: str = _setting(
        "IDP_SECRET_KEY",
        None,
        None,
        "Signs the CSRF cookie. Default: generated once and kept in the instance folder.",
    )
    keys_dir: Path = _setting(
        "IDP_KEYS_DIR", str(PROJECT_ROOT / "keys"), None, "The on-disk signing-key store."
    )
    keys_passphrase: str = _setting(
        "IDP_KEYS_PASSPHRASE",
        None,
        None,
        "Encrypts private keys at rest. Default: a key file generated in the instance folder.",
    )
    id_token_alg: str = _setting(
        "IDP_ID_TOKEN_ALG",
        "RS256",
        parse_alg,
        "Default ID token signing algorithm (one of IDP_SIGNING_ALGS).",
    )
    signing_algs: tuple = _setting(
        "IDP_SIGNING_ALGS",
        "RS256,PS256,ES256,EdDSA",
        parse_algs,
        "Algorithms with an active signing key, offered to portals in discovery.",
    )
    rsa_key_bits: int = _setting(
        "IDP_RSA_KEY_BITS", "2048", parse_rsa_bits, "Size of new RSA keys: 2048, 3072 or 4096."
    )
    keys_store: str = _setting(
        "IDP_KEYS_STORE",
        "files",
        parse_key_store,
        "Where signing keys live: files (under IDP_KEYS_DIR) or database (shared by every instance).",
    )
    jwks_max_age: int = _setting(
        "IDP_JWKS_MAX_AGE",
        "5m",
        parse_duration,
        "Cache-Control max-age of the JWKS; a next key is published this long (plus "
        "IDP_KEY_CACHE_SECONDS) before it may sign.",
    )
    clock_skew: int = _setting(
        "IDP_CLOCK_SKEW",
        "60s",
        parse_duration,
        "Clock difference tolerated between us and the portals; added to a retired key's publication time.",
    )
    access_token_ttl: int = _setting("IDP_ACCESS_TOKEN_TTL", "10m", parse_duration, "Access token lifetime.")
    id_token_ttl: int = _setting("IDP_ID_TOKEN_TTL", "10m", parse_duration, "ID token lifetime.")
    refresh_token_ttl: int = _setting(
        "IDP_REFRESH_TOKEN_TTL",
        "30d",
        parse_duration,
        "Refresh token lifetime (each rotation starts a new one).",
    )
    code_ttl: int = _setting("IDP_CODE_TTL", "60s", parse_duration, "Authorization code lifetime.")
    session_ttl: int = _setting(
        "IDP_SESSION_TTL",
        "12h",
        parse_duration,
        "How long a citizen stays logged in to the provider (absolute).",
    )
    dpop_nonce: bool = _setting(
        "IDP_DPOP_NONCE",
        "true",
        parse_bool,
        "Require a server nonce in DPoP proofs at the token endpoint (RFC 9449 §8).",
    )
    device_code_ttl: int = _setting(
        "IDP_DEVICE_CODE_TTL",
        "10m",
        parse_duration,
        "How long a kiosk's device code and the user code it shows stay valid (RFC 8628).",
    )
    par_ttl: int = _setting(
        "IDP_PAR_TTL",
        "90s",
        parse_duration,
        "How long a pushed authorization request's request_uri stays usable (RFC 9126; once only).",
    )
    interaction_ttl: int = _setting(
        "IDP_INTERACTION_TTL",
        "30m",
        parse_duration,
        "How long a citizen has to finish the login and consent pages.",
    )
    argon2_time_cost: int = _setting(
        "IDP_ARGON2_TIME_COST",
        "3",
        lambda n, r: parse_int(n, r, 1, 20),
        "Argon2id passes (RFC 9106 low-memory profile: 3).",
    )
    argon2_memory_cost: int = _setting(
        "IDP_ARGON2_MEMORY_COST",
        "65536",
        lambda n, r: parse_int(n, r, 8192, 4 * 1024 * 1024),
        "Argon2id memory in KiB (RFC 9106 low-memory profile: 65536).",
    )
    argon2_parallelism: int = _setting(
        "IDP_ARGON2_PARALLELISM",
        "4",
        lambda n, r: parse_int(n, r, 1, 16),
        "Argon2id lanes (RFC 9106 low-memory profile: 4).",
    )
    argon2_concurrency: int = _setting(
        "IDP_ARGON2_CONCURRENCY",
        "1",
        lambda n, r: parse_int(n, r, 1, 64),
        "Password hashes computed at once per worker process (1 per core the worker may use).",
    )
    default_locale: str = _setting(
        "IDP_DEFAULT_LOCALE", "vi", parse_locale, "Language of the pages: vi or en."
    )
    log_level: str = _setting("IDP_LOG_LEVEL", "INFO", parse_log_level, "DEBUG, INFO, WARNING or ERROR.")
    log_format: str = _setting(
        "IDP_LOG_FORMAT",
        "text",
        lambda n, r: _choice(n, r, ("text", "json")),
        "text (for people) or json (one object per line, with the request id, for log collectors).",
    )
    metrics_token: str = _setting(
        "IDP_METRICS_TOKEN",
        None,
        None,
        "Bearer token required by /metrics. Unset: /metrics answers loopback clients only.",
    )
    metrics_dir: Path = _setting(
        "IDP_METRICS_DIR",
        None,
        None,
        "Folder where worker processes share their metrics. Default: <instance>/metrics.",
    )
    db_pool_size: int = _setting(
        "IDP_DB_POOL_SIZE",
        "10",
        lambda n, r: parse_int(n, r, 1, 200),
        "PostgreSQL connections per worker process (plus as many overflow).",
    )
    verification_code_ttl: int = _setting(
        "IDP_VERIFICATION_CODE_TTL",
        "10m",
        parse_duration,
        "How long a 6-digit code sent to a phone or email (verification, password reset) stays valid.",
    )
    verification_max_attempts: int = _setting(
        "IDP_VERIFICATION_MAX_ATTEMPTS",
        "5",
        lambda n, r: parse_int(n, r, 1, 20),
        "Wrong tries of one 6-digit code before it stops working (the citizen asks for a new one).",
    )
    verification_resend_wait: int = _setting(
        "IDP_VERIFICATION_RESEND_WAIT",
        "30s",
        parse_duration,
        "Wait before a code may be sent again; it doubles at each resend (30 s, 60 s, 120 s…).",
    )
    verification_max_sends: int = _setting(
        "IDP_VERIFICATION_MAX_SENDS",
        "5",
        lambda n, r: parse_int(n, r, 1, 50),
        "Codes sent for one purpose to one account per hour.",
    )
    notify_email: str = _setting(
        "IDP_NOTIFY_EMAIL",
        "log",
        lambda n, r: _choice(n, r, ("log", "smtp")),
        "How emails are delivered: smtp, or log (development only: the message, code included, "
        "is written to the log).",
    )
    notify_sms: str = _setting(
        "IDP_NOTIFY_SMS",
        "log",
        lambda n, r: _choice(n, r, ("log", "webhook")),
        "How SMS are delivered: webhook (an SMS gateway), or log (development only).",
    )
    smtp_host: str = _setting("IDP_SMTP_HOST", None, None, "SMTP server (needed when IDP_NOTIFY_EMAIL=smtp).")
    smtp_port: int = _setting(
        "IDP_SMTP_PORT", "587", lambda n, r: parse_int(n, r, 1, 65535), "SMTP server port."
    )
    smtp_security: str = _setting(
        "IDP_SMTP_SECURITY",
        "starttls",
        lambda n, r: _choice(n, r, ("starttls", "ssl", "plain")),
        "starttls (port 587), ssl (port 465) or plain (a relay on this host only).",
    )
    smtp_username: str = _setting("IDP_SMTP_USERNAME", None, None, "SMTP login (none: no AUTH).")
    smtp_password: str = _setting("IDP_SMTP_PASSWORD", None, None, "SMTP password.")
    smtp_from: str = _setting(
        "IDP_SMTP_FROM",
        None,
        None,
        "Sender of the emails, e.g. 'Thai Nguyen ID <no-reply@thainguyen.gov.vn>'.",
    )
    smtp_timeout: int = _setting("IDP_SMTP_TIMEOUT", "10s", parse_duration, "SMTP connection timeout.")
    sms_webhook_url: str = _setting(
        "IDP_SMS_WEBHOOK_URL",
        None,
        parse_webhook_url,
        "The SMS gateway's URL (https; needed when IDP_NOTIFY_SMS=webhook).",
    )
    sms_webhook_token: str = _setting(
        "IDP_SMS_WEBHOOK_TOKEN", None, None, "Bearer token sent to the SMS gateway."
    )
    sms_webhook_timeout: int = _setting(
        "IDP_SMS_WEBHOOK_TIMEOUT", "10s", parse_duration, "How long to wait for the SMS gateway."
    )
    ratelimit_register: str = _setting(
        "IDP_RATELIMIT_REGISTER",
        "10/minute;50/hour",
        parse_rate_limit,
        "Registration form submissions per client IP.",
    )
    ratelimit_send_code: str = _setting(
        "IDP_RATELIMIT_SEND_CODE",
        "10/minute;60/hour",
        parse_rate_limit,
        "Requests that send a code (resend, verify a contact, forgotten password) per client IP.",
    )
    ratelimit_check_code: str = _setting(
        "IDP_RATELIMIT_CHECK_CODE",
        "20/minute;200/hour",
        parse_rate_limit,
        "Code checks (verification, password reset) and password changes per client IP.",
    )
    trust_proxy: bool = _setting(
        "IDP_TRUST_PROXY", "false", parse_bool, "Trust X-Forwarded-For from one reverse proxy for client IPs."
    )
    login_max_failures: int = _setting(
        "IDP_LOGIN_MAX_FAILURES",
        "10",
        lambda n, r: parse_int(n, r, 3, 1000),
        "Failed logins for one account before it is locked for IDP_LOGIN_LOCK_TIME.",
    )
    login_lock_time: int = _setting(
        "IDP_LOGIN_LOCK_TIME",
        "15m",
        parse_duration,
        "How long an account stays locked after too many failed logins.",
    )
    ratelimit_storage: str = _setting(
        "IDP_RATELIMIT_STORAGE",
        "memory://",
        parse_storage_uri,
        "Where rate-limit counters live: memory:// (one instance) or redis://host:6379/0 (shared).",
    )
    ratelimit_login: str = _setting(
        "IDP_RATELIMIT_LOGIN",
        "20/minute;200/hour",
        parse_rate_limit,
        "Login form submissions per client IP.",
    )
    ratelimit_token: str = _setting(
        "IDP_RATELIMIT_TOKEN",
        "6000/minute",
        parse_rate_limit,
        "Token, revocation and introspection requests per client IP (portals' servers).",
    )
    ratelimit_client_registration: str = _setting(
        "IDP_RATELIMIT_CLIENT_REGISTRATION",
        "30/hour",
        parse_rate_limit,
        "Dynamic client registration requests (RFC 7591/7592) per client IP.",
    )
    ratelimit_prefix: str = _setting(
        "IDP_RATELIMIT_PREFIX",
        "tnid",
        None,
        "Prefix of rate-limit keys (deployments sharing a Redis).",
    )
    ratelimit_enabled: bool = _setting(
        "IDP_RATELIMIT_ENABLED", "true", parse_bool, "Turn per-IP rate limits off (benchmarks only)."
    )
    webauthn_rp_id: str = _setting(
        "IDP_WEBAUTHN_RP_ID",
        None,
        None,
        "Passkeys' relying-party id (a registrable domain). Default: the issuer's host name.",
    )
    audit_retention: int = _setting(
        "IDP_AUDIT_RETENTION",
        "400d",
        parse_duration,
        "How long audit events are kept; `idp audit purge` removes older ones (and says so).",
    )
    key_cache_seconds: int = _setting(
        "IDP_KEY_CACHE_SECONDS",
        "30s",
        parse_duration,
        "How often a worker checks the key store for a rotation.",
    )
    activation_code_ttl: int = _setting(
        "IDP_ACTIVATION_CODE_TTL",
        "30d",
        parse_duration,
        "How long a paper activation code from `idp users import` stays valid.",
    )
    activation_max_attempts: int = _setting(
        "IDP_ACTIVATION_MAX_ATTEMPTS",
        "5",
        lambda n, r: parse_int(n, r, 1, 20),
        "Wrong activation codes typed for one account before its code stops working.",
    )
    ratelimit_activate: str = _setting(
        "IDP_RATELIMIT_ACTIVATE",
        "10/minute;60/hour",
        parse_rate_limit,
        "Activation form submissions per client IP.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read every ``IDP_*`` variable, apply ``overrides`` (tests), validate, fill defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            meta = f.metadata
            if f.name in overrides:
                values[f.name] = overrides[f.name]
                continue
            raw = environ.get(meta["env"])
            if raw is None or raw == "":
                raw = meta["default"]
            if raw is None:
                values[f.name] = None
                continue
            parse = meta["parse"]
            values[f.name] = parse(meta["env"], raw) if parse else raw
        values["instance_dir"] = Path(values["instance_dir"])
        values["keys_dir"] = Path(values["keys_dir"])
        values["metrics_dir"] = Path(values["metrics_dir"] or values["instance_dir"] / "metrics")
        if not values["database_url"]:
            values["database_url"] = f"sqlite:///{values['instance_dir'] / 'idp.sqlite3'}"
        elif str(values["database_url"]).startswith(("postgresql://", "postgres://")):
            # The driver shipped with the project is psycopg 3.
            values["database_url"] = "postgresql+psycopg://" + values["database_url"].split("://", 1)[1]
        elif not str(values["database_url"]).startswith(("sqlite:", "postgresql")):
            raise ConfigError(
                f"IDP_DATABASE_URL={values['database_url']!r}: expected a sqlite:/// or postgresql:// URL"
            )
        if values["id_token_alg"] not in values["signing_algs"]:
            raise ConfigError(
                f"IDP_ID_TOKEN_ALG={values['id_token_alg']!r}: expected one of IDP_SIGNING_ALGS "
                f"({', '.join(values['signing_algs'])})"
            )
        rp_id = values["webauthn_rp_id"]
        host = urlsplit(values["issuer"]).hostname or ""
        if rp_id and not (host == rp_id or host.endswith("." + rp_id)):
            # A browser refuses passkeys for a relying-party id the page's host is not within.
            raise ConfigError(
                f"IDP_WEBAUTHN_RP_ID={rp_id!r}: expected the issuer's host ({host}) or a domain it belongs to"
            )
        _check_notify(values)
        return cls(**values)

    @property
    def https(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def issuer_path(self) -> str:
        """The path prefix the provider is mounted at behind a reverse proxy ('' at the root)."""
        return urlsplit(self.issuer).path.rstrip("/")

    def url(self, path: str) -> str:
        """An absolute URL of the provider; ``path`` starts with '/'."""
        return self.issuer + path

    def resolve_secret_key(self) -> str:
        """The configured secret, or one generated on first run and kept in the instance folder."""
        if self.secret_key:
            return self.secret_key
        return persistent_secret(self.instance_dir / "secret_key")


def persistent_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL: when two workers start together, one writes and the other reads the winner's value.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def describe() -> list[tuple[str, str | None, str]]:
    """(variable, default, meaning) for every setting: the README table is generated from this."""
    return [(f.metadata["env"], f.metadata["default"], f.metadata["doc"]) for f in fields(Settings)]
