"""Demo public-service portal: a relying party that logs citizens in with Thai Nguyen ID.

The portal talks to the provider *only* through OpenID Connect discovery and
Authlib's Flask client, exactly as a real portal of the province would. That
keeps it honest as an integration example: if the portal works, any standard
OIDC client will.

Settings (environment variables, overridable through ``create_app(config)``):

``DEMO_ISSUER``         provider issuer URL (default ``http://127.0.0.1:5000``)
``DEMO_CLIENT_ID``      client id registered at the provider
``DEMO_CLIENT_SECRET``  its client secret
``DEMO_CLIENT_FILE``    JSON file ``{"client_id": ..., "client_secret": ...}`` read
                        when the two above are unset (default
                        ``instance/demo-portal-client.json``, relative to the cwd;
                        the provider's ``idp demo`` command writes it)
``DEMO_PORTAL_URL``     public URL of this portal (default ``http://127.0.0.1:5001``)
``DEMO_SECRET_KEY``     Flask session key (default: random at each start)
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import (
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from joserfc.errors import JoseError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

__all__ = ["SCOPE", "PortalNotRegisteredError", "create_app", "load_client_credentials"]

log = logging.getLogger(__name__)

SCOPE = "openid profile email phone offline_access"
DEFAULT_ISSUER = "http://127.0.0.1:5000"
DEFAULT_PORTAL_URL = "http://127.0.0.1:5001"
DEFAULT_CLIENT_FILE = "instance/demo-portal-client.json"

# Name under which the client is registered with Authlib; it also prefixes the
# state entries Authlib keeps in the session.
_CLIENT_NAME = "thainguyen"

# Without a timeout a hung provider would hang the portal's worker thread too.
_HTTP_TIMEOUT_SECONDS = 10

# Vietnam has had no daylight saving since 1975, so a fixed offset is exact and
# avoids depending on the system's tz database.
_VN_TZ = timezone(timedelta(hours=7), "ICT")

_TIME_CLAIMS = frozenset({"exp", "iat", "nbf", "auth_time", "updated_at"})

# Plain-language names for the claims a citizen is likely to see.
_CLAIM_LABELS: dict[str, tuple[str, str]] = {
    "sub": ("Mã định danh của bạn tại cổng này", "Your identifier for this portal"),
    "name": ("Họ và tên", "Full name"),
    "family_name": ("Họ", "Family name"),
    "middle_name": ("Tên đệm", "Middle name"),
    "given_name": ("Tên", "Given name"),
    "nickname": ("Tên thường gọi", "Nickname"),
    "preferred_username": ("Tên đăng nhập", "Username"),
    "email": ("Thư điện tử", "Email"),
    "email_verified": ("Thư điện tử đã xác minh", "Email verified"),
    "phone_number": ("Số điện thoại", "Phone number"),
    "phone_number_verified": ("Số điện thoại đã xác minh", "Phone number verified"),
    "birthdate": ("Ngày sinh", "Date of birth"),
    "gender": ("Giới tính", "Gender"),
    "address": ("Địa chỉ", "Address"),
    "locale": ("Ngôn ngữ", "Language"),
    "zoneinfo": ("Múi giờ", "Time zone"),
    "picture": ("Ảnh đại diện", "Picture"),
    "updated_at": ("Cập nhật thông tin lần cuối", "Profile last updated"),
    "iss": ("Nơi cấp", "Issuer"),
    "aud": ("Cấp cho ứng dụng", "Audience (this portal)"),
    "azp": ("Bên được cấp", "Authorized party"),
    "exp": ("Hết hạn lúc", "Expires at"),
    "iat": ("Cấp lúc", "Issued at"),
    "nbf": ("Có hiệu lực từ", "Not before"),
    "auth_time": ("Thời điểm bạn đăng nhập", "When you logged in"),
    "nonce": ("Mã chống phát lại", "Nonce (replay protection)"),
    "at_hash": ("Mã băm của access token", "Access-token hash"),
    "c_hash": ("Mã băm của mã ủy quyền", "Code hash"),
    "acr": ("Mức độ xác thực", "Authentication level"),
    "amr": ("Cách thức xác thực", "Authentication methods"),
    "sid": ("Mã phiên đăng nhập", "Session id"),
}

# Friendly explanations for error codes; anything else falls back to "generic".
_ERRORS: dict[str, dict[str, str]] = {
    "access_denied": {
        "title_vi": "Bạn đã không đồng ý chia sẻ thông tin",
        "title_en": "You did not agree to share your information",
        "advice_vi": "Cổng chưa nhận được thông tin nào của bạn. Bạn có thể đăng nhập lại bất cứ lúc nào.",
        "advice_en": "The portal received none of your information. You can log in again at any time.",
    },
    "login_required": {
        "title_vi": "Bạn cần đăng nhập",
        "title_en": "You need to log in",
        "advice_vi": "Vui lòng bấm nút đăng nhập để thử lại.",
        "advice_en": "Please press the log-in button to try again.",
    },
    "login_expired": {
        "title_vi": "Lượt đăng nhập đã hết hạn hoặc không hợp lệ",
        "title_en": "This log-in attempt expired or is not valid",
        "advice_vi": "Có thể bạn đã mở lại một trang cũ. Vui lòng đăng nhập lại từ đầu.",
        "advice_en": "You may have reopened an old page. Please start the log-in again.",
    },
    "csrf": {
        "title_vi": "Phiên làm việc đã hết hạn",
        "title_en": "Your session has expired",
        "advice_vi": "Vui lòng tải lại trang chủ rồi thử lại.",
        "advice_en": "Please reload the home page and try again.",
    },
    "provider_unreachable": {
        "title_vi": "Không kết nối được với Thai Nguyen ID",
        "title_en": "Could not reach Thai Nguyen ID",
        "advice_vi": "Dịch vụ đăng nhập tạm thời không phản hồi. Vui lòng thử lại sau ít phút.",
        "advice_en": "The log-in service is not responding. Please try again in a few minutes.",
    },
    "not_registered": {
        "title_vi": "Cổng này chưa được đăng ký với Thai Nguyen ID",
        "title_en": "This portal is not registered with Thai Nguyen ID yet",
        "advice_vi": "Người quản trị cần chạy lệnh “idp demo” hoặc đặt DEMO_CLIENT_ID và DEMO_CLIENT_SECRET.",
        "advice_en": "The administrator needs to run “idp demo” or set DEMO_CLIENT_ID "
        "and DEMO_CLIENT_SECRET.",
    },
    "invalid_login": {
        "title_vi": "Không xác minh được thông tin đăng nhập",
        "title_en": "Your log-in could not be verified",
        "advice_vi": "Để bảo vệ bạn, cổng đã từ chối lượt đăng nhập này. Vui lòng thử lại.",
        "advice_en": "To protect you, the portal refused this log-in. Please try again.",
    },
    "not_found": {
        "title_vi": "Không tìm thấy trang",
        "title_en": "Page not found",
        "advice_vi": "Địa chỉ này không tồn tại. Hãy quay về trang chủ.",
        "advice_en": "This address does not exist. Please go back to the home page.",
    },
    "generic": {
        "title_vi": "Đã có lỗi xảy ra",
        "title_en": "Something went wrong",
        "advice_vi": "Vui lòng thử lại. Nếu lỗi vẫn còn, hãy liên hệ bộ phận hỗ trợ.",
        "advice_en": "Please try again. If it keeps happening, contact support.",
    },
}

# Standard OAuth/OIDC codes that mean the same thing to a citizen as one above.
_ERROR_ALIASES = {
    "consent_required": "login_required",
    "interaction_required": "login_required",
    "account_selection_required": "login_required",
    "invalid_grant": "login_expired",
    "server_error": "provider_unreachable",
    "temporarily_unavailable": "provider_unreachable",
    "unauthorized_client": "not_registered",
    "invalid_client": "not_registered",
}

# Flash messages are stored as keys so both languages render from one place.
_MESSAGES: dict[str, tuple[str, str]] = {
    "logged_out": ("Bạn đã đăng xuất.", "You have logged out."),
    "logged_out_locally": (
        "Bạn đã đăng xuất khỏi cổng này. Không liên lạc được với Thai Nguyen ID, "
        "nên bạn có thể vẫn còn đăng nhập ở đó.",
        "You have logged out of this portal. Thai Nguyen ID could not be reached, "
        "so you may still be logged in there.",
    ),
}


class PortalNotRegisteredError(RuntimeError):
    """The portal has no client credentials yet (``idp demo`` not run, no env vars)."""


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the portal. ``config`` overrides the environment (handy for tests).

    No network access happens here: discovery is fetched at the first log-in so
    the portal can start before the provider does.
    """
    app = Flask(__name__)
    app.config.update(
        DEMO_ISSUER=_env("DEMO_ISSUER") or DEFAULT_ISSUER,
        DEMO_CLIENT_ID=_env("DEMO_CLIENT_ID"),
        DEMO_CLIENT_SECRET=_env("DEMO_CLIENT_SECRET"),
        DEMO_CLIENT_FILE=_env("DEMO_CLIENT_FILE") or DEFAULT_CLIENT_FILE,
        DEMO_PORTAL_URL=_env("DEMO_PORTAL_URL") or DEFAULT_PORTAL_URL,
        DEMO_SECRET_KEY=_env("DEMO_SECRET_KEY"),
    )
    if config:
        app.config.update(config)

    # Trailing slashes would make "<issuer>/.well-known/..." and the redirect
    # URIs differ from what the provider has registered.
    issuer = str(app.config["DEMO_ISSUER"]).rstrip("/")
    portal_url = str(app.config["DEMO_PORTAL_URL"]).rstrip("/")
    app.config["DEMO_ISSUER"] = issuer
    app.config["DEMO_PORTAL_URL"] = portal_url

    app.config["SECRET_KEY"] = (
        app.config.get("SECRET_KEY") or app.config["DEMO_SECRET_KEY"] or secrets.token_urlsafe(32)
    )
    cookie_defaults = {
        # Browsers ignore the port when matching cookies, so on 127.0.0.1 the
        # provider (:5000) and the portal (:5001) would overwrite each other's
        # default "session" cookie. A distinct name keeps both logged in.
        "SESSION_COOKIE_NAME": "tn_demo_portal_session",
        # Lax still sends the cookie on the top-level redirect back from the
        # provider, which the state/nonce check needs.
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": portal_url.startswith("https://"),
    }
    for key, value in cookie_defaults.items():
        # Flask pre-fills these keys, so setdefault would never apply ours.
        if not config or key not in config:
            app.config[key] = value

    oauth = OAuth(app)
    oauth.register(
        _CLIENT_NAME,
        # Credentials are attached per request (see _client) because `idp demo`
        # may write the JSON file after the portal has started.
        client_id=None,
        client_secret=None,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "default_timeout": _HTTP_TIMEOUT_SECONDS,
        },
    )

    # Keeps the served HTML readable for people learning from "view source".
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    _register_routes(app)
    _register_error_handlers(app)
    app.after_request(_security_headers)
    app.context_processor(_template_globals)
    return app


def load_client_credentials(config: Mapping[str, Any]) -> tuple[str, str]:
    """Return ``(client_id, client_secret)`` from settings, else from the JSON file.

    Each value falls back to the file on its own, so an operator may override
    just one of them through the environment.
    """
    client_id = config.get("DEMO_CLIENT_ID")
    client_secret = config.get("DEMO_CLIENT_SECRET")
    if client_id and client_secret:
        return str(client_id), str(client_secret)

    path = Path(config.get("DEMO_CLIENT_FILE") or DEFAULT_CLIENT_FILE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PortalNotRegisteredError(
            f"No client credentials: set DEMO_CLIENT_ID/DEMO_CLIENT_SECRET or run `idp demo` to write {path}"
        ) from exc
    except (OSError, ValueError) as exc:
        raise PortalNotRegisteredError(f"Cannot read client file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise PortalNotRegisteredError(f"Client file {path} must hold a JSON object")

    client_id = client_id or data.get("client_id")
    client_secret = client_secret or data.get("client_secret")
    if not (isinstance(client_id, str) and client_id):
        raise PortalNotRegisteredError(f"Client file {path} has no client_id")
    if not (isinstance(client_secret, str) and client_secret):
        raise PortalNotRegisteredError(f"Client file {path} has no client_secret")
    return client_id, client_secret


# --------------------------------------------------------------------------- routes


def _register_routes(app: Flask) -> None:
    @app.get("/")
    def index() -> Response | str:
        # The provider's end-session endpoint sends the browser back here with
        # the state we generated; consume it so the citizen gets a confirmation
        # and the URL is cleaned.
        if "state" in request.args and "login" not in session:
            try:
                _client().validate_logout_response()
            except OAuthError:
                pass  # A stale or forged state only costs the confirmation message.
            else:
                flash("logged_out")
            return redirect(url_for("index"))

        login = session.get("login")
        if not login:
            return render_template("index.html", login=None)

        id_claims = _jwt_payload(login["id_token"])
        userinfo = login.get("userinfo")
        session.setdefault("csrf_token", secrets.token_urlsafe(32))
        return render_template(
            "index.html",
            login=login,
            name=_display_name(userinfo or {}, id_claims),
            id_token_rows=_claim_rows(id_claims),
            userinfo_rows=_claim_rows(userinfo) if userinfo is not None else None,
            access_expiry=_expiry(login.get("expires_at")),
            id_token_expiry=_expiry(id_claims.get("exp")),
            csrf_token=session["csrf_token"],
        )

    @app.get("/login")
    def login() -> Response | tuple[str, int]:
        if session.get("login"):
            return redirect(url_for("index"))
        try:
            client = _client(with_credentials=True)
            return client.authorize_redirect(_portal_url("/callback"))
        except PortalNotRegisteredError as exc:
            log.error("%s", exc)  # Setup problem, not a bug: no traceback.
            return _error_page("not_registered", 503)
        except (requests.RequestException, ValueError) as exc:
            # Discovery failed; Authlib caches nothing, so the next try refetches.
            log.warning("Could not load the provider's discovery document: %s", exc)
            return _error_page("provider_unreachable", 502)

    @app.get("/callback")
    def callback() -> Response | tuple[str, int]:
        return _handle_callback()

    @app.post("/logout")
    def logout() -> Response | tuple[str, int]:
        sent = request.form.get("csrf_token", "").encode()
        expected = str(session.get("csrf_token", "")).encode()
        if not expected or not hmac.compare_digest(sent, expected):
            return _error_page("csrf", 400)

        id_token = (session.get("login") or {}).get("id_token")
        # Forget the citizen locally first, so a provider outage cannot leave
        # them logged in here.
        session.clear()

        client = _client()
        try:
            client_id, _ = load_client_credentials(current_app.config)
        except PortalNotRegisteredError:
            client_id = None
        extra = {"client_id": client_id} if client_id else {}
        try:
            # Authlib adds a random `state` and remembers it for index().
            return client.logout_redirect(
                post_logout_redirect_uri=_portal_url("/"),
                id_token_hint=id_token,
                **extra,
            )
        except (requests.RequestException, ValueError, RuntimeError):
            # RuntimeError: the provider advertises no end_session_endpoint.
            log.exception("Could not start RP-initiated logout at the provider")
            flash("logged_out_locally")
            return redirect(url_for("index"))


def _handle_callback() -> Response | tuple[str, int]:
    client = _client()
    state = request.args.get("state")

    error = request.args.get("error")
    if error:
        if state:
            # Drop the pending attempt so it cannot be replayed later.
            client.framework.clear_state_data(session, state)
        return _error_page(error, 400, description=request.args.get("error_description"))

    try:
        client = _client(with_credentials=True)
        metadata = client.load_server_metadata()
        # RFC 9207: an `iss` that is not our provider means a mix-up attack.
        iss = request.args.get("iss")
        if iss is not None and iss != metadata.get("issuer"):
            log.warning("Authorization response from unexpected issuer %r", iss)
            return _error_page("invalid_login", 400)
        token = client.authorize_access_token()
    except PortalNotRegisteredError as exc:
        log.error("%s", exc)
        return _error_page("not_registered", 503)
    except MismatchingStateError:
        return _error_page("login_expired", 400)
    except OAuthError as exc:
        # Errors from the token endpoint, e.g. invalid_grant for a reused code.
        log.warning("Token request failed: %s %s", exc.error, exc.description)
        return _error_page(exc.error or "generic", 400, description=exc.description)
    except requests.RequestException as exc:
        log.warning("Could not reach the provider: %s", exc)
        return _error_page("provider_unreachable", 502)
    except (JoseError, ValueError, KeyError):
        # Bad signature, wrong audience/issuer/nonce, expired ID token, ...
        log.exception("ID token validation failed")
        return _error_page("invalid_login", 400)

    id_token = token.get("id_token")
    id_claims = token.get("userinfo")  # Authlib's name for the verified ID-token claims.
    if not id_token or not id_claims:
        log.error("Token response carried no verifiable ID token")
        return _error_page("invalid_login", 400)

    userinfo: dict[str, Any] | None
    userinfo_error: str | None = None
    try:
        userinfo = dict(client.userinfo(token=token))
    except (requests.RequestException, ValueError, OAuthError) as exc:
        # The ID token alone proves who the citizen is; show the page and say
        # what is missing rather than fail the whole log-in.
        log.exception("Userinfo request failed")
        userinfo, userinfo_error = None, type(exc).__name__
    else:
        # OIDC Core 5.3.2: userinfo for another subject must not be used.
        if userinfo.get("sub") != id_claims.get("sub"):
            log.error("Userinfo sub %r != ID token sub %r", userinfo.get("sub"), id_claims["sub"])
            return _error_page("invalid_login", 400)

    # A fresh session on every log-in rules out session fixation.
    session.clear()
    session["login"] = {
        # Only the raw ID token is kept: its claims are re-read from it when
        # shown, which keeps the signed cookie well under the 4 KB limit.
        "id_token": id_token,
        "userinfo": userinfo,
        "userinfo_error": userinfo_error,
        "expires_at": token.get("expires_at"),
        "scope": token.get("scope") or SCOPE,
        "has_refresh_token": bool(token.get("refresh_token")),
    }
    session["csrf_token"] = secrets.token_urlsafe(32)
    return redirect(url_for("index"))


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(_exc: HTTPException) -> tuple[str, int]:
        return _error_page("not_found", 404)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response | tuple[str, int] | HTTPException:
        if isinstance(exc, HTTPException):
            return exc  # Keep Werkzeug's own 405 etc.
        # Citizens must never see a stack trace; the log keeps it for us.
        log.exception("Unhandled error in demo portal")
        return _error_page("generic", 500)


# --------------------------------------------------------------------------- helpers


def _env(name: str) -> str | None:
    # An exported-but-empty variable is treated as unset, which is what people
    # mean by `DEMO_CLIENT_ID= python -m ...`.
    return os.environ.get(name) or None


def _client(*, with_credentials: bool = False) -> FlaskOAuth2App:
    """The Authlib client, optionally with the current credentials attached.

    Credentials are re-read on every log-in so that running `idp demo` (which
    writes the JSON file) takes effect without restarting the portal.
    """
    oauth: OAuth = current_app.extensions["authlib.integrations.flask_client"]
    client = oauth.create_client(_CLIENT_NAME)
    if with_credentials:
        client.client_id, client.client_secret = load_client_credentials(current_app.config)
    return client


def _portal_url(path: str) -> str:
    return f"{current_app.config['DEMO_PORTAL_URL']}{path}"


def _jwt_payload(token: str) -> dict[str, Any]:
    # No signature check here on purpose: Authlib verified this token at
    # /callback, and the signed session cookie prevents tampering since.
    try:
        segment = token.split(".")[1]
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        payload = json.loads(raw)
    except (IndexError, ValueError, binascii.Error):
        return {}
    return payload if isinstance(payload, dict) else {}


def _display_name(userinfo: Mapping[str, Any], id_claims: Mapping[str, Any]) -> str:
    for claims in (userinfo, id_claims):
        if claims.get("name"):
            return str(claims["name"])
    for claims in (userinfo, id_claims):
        # Vietnamese order: family name, middle name, given name.
        parts = [claims.get(k) for k in ("family_name", "middle_name", "given_name")]
        if any(parts):
            return " ".join(str(p) for p in parts if p)
    for claims in (userinfo, id_claims):
        for key in ("preferred_username", "email"):
            if claims.get(key):
                return str(claims[key])
    return "bạn"


def _claim_rows(claims: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(claims):
        value = claims[key]
        label = _CLAIM_LABELS.get(key)
        is_structured = isinstance(value, dict | list)
        if isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, ensure_ascii=False, indent=2 if is_structured else None)
        when = None
        if key in _TIME_CLAIMS and isinstance(value, int | float) and not isinstance(value, bool):
            when = _format_time(value)
        rows.append(
            {
                "key": key,
                "label_vi": label[0] if label else None,
                "label_en": label[1] if label else None,
                "text": text,
                "structured": is_structured,
                "when": when,
            }
        )
    return rows


def _format_time(timestamp: float) -> str:
    try:
        moment = datetime.fromtimestamp(timestamp, tz=UTC).astimezone(_VN_TZ)
    except (OverflowError, OSError, ValueError):
        return "?"
    return moment.strftime("%H:%M:%S %d/%m/%Y") + " (UTC+7)"


def _expiry(timestamp: Any) -> dict[str, Any] | None:
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
        return None
    remaining = int(timestamp - time.time())
    return {
        "when": _format_time(timestamp),
        "expired": remaining <= 0,
        # Round up so "expires in 0 minutes" never shows for a live token.
        "minutes_left": max(0, -(-remaining // 60)),
    }


def _security_headers(response: Response) -> Response:
    # form-action must also allow the provider: browsers apply it to the
    # redirect that follows the logout POST.
    form_targets = {"'self'", _origin(current_app.config["DEMO_ISSUER"])}
    oauth: OAuth = current_app.extensions["authlib.integrations.flask_client"]
    end_session = oauth.create_client(_CLIENT_NAME).server_metadata.get("end_session_endpoint")
    if isinstance(end_session, str) and end_session:
        form_targets.add(_origin(end_session))
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        f"frame-ancestors 'none'; form-action {' '.join(sorted(form_targets))}",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        # Pages show personal data; keep them out of shared or back-button caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _template_globals() -> dict[str, Any]:
    return {
        "issuer": current_app.config["DEMO_ISSUER"],
        "messages_text": _MESSAGES,
    }


def _error_page(code: str, status: int, description: str | None = None) -> tuple[str, int]:
    info = _ERRORS.get(code) or _ERRORS.get(_ERROR_ALIASES.get(code, ""), _ERRORS["generic"])
    if description:
        # The description comes from a URL anyone can craft; autoescaping makes
        # it harmless, the cap keeps the page readable.
        description = description[:300]
    return (
        render_template(
            "error.html",
            error=info,
            # Codes are short ASCII tokens by spec; cap anything odd.
            code=code[:64],
            description=description,
        ),
        status,
    )
