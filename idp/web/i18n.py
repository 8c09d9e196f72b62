"""The words on the pages, Vietnamese first, and how the language of a page is chosen.

Two languages and a few dozen strings: a dictionary is clearer here than gettext catalogues
that need a compile step before the service can start.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Response, g, request
from werkzeug.exceptions import HTTPException

from ..services import services

LOCALES = ("vi", "en")
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")

MESSAGES: dict[str, dict[str, str]] = {
    "site_name": {"vi": "Thai Nguyen ID", "en": "Thai Nguyen ID"},
    "tagline": {
        "vi": "Định danh số công dân tỉnh Thái Nguyên",
        "en": "Digital identity for the citizens of Thai Nguyen province",
    },
    "login_title": {"vi": "Đăng nhập", "en": "Log in"},
    "login_for": {"vi": "để tiếp tục vào", "en": "to continue to"},
    "identifier": {
        "vi": "Số CCCD, số điện thoại hoặc email",
        "en": "Citizen ID (CCCD) number, phone number or email",
    },
    "identifier_help": {
        "vi": "Ví dụ: 019090001234 hoặc 0912345678",
        "en": "For example: 019090001234 or 0912345678",
    },
    "password": {"vi": "Mật khẩu", "en": "Password"},
    "login_button": {"vi": "Đăng nhập", "en": "Log in"},
    "login_failed": {
        "vi": "Thông tin đăng nhập không đúng. Vui lòng kiểm tra và thử lại.",
        "en": "The login details are not right. Please check them and try again.",
    },
    "login_missing": {
        "vi": "Vui lòng nhập đủ tài khoản và mật khẩu.",
        "en": "Please enter both your account and your password.",
    },
    "consent_title": {"vi": "Cho phép chia sẻ thông tin", "en": "Allow sharing your information"},
    "consent_intro": {
        "vi": "muốn được biết các thông tin sau của bạn:",
        "en": "would like to know the following about you:",
    },
    "consent_note": {
        "vi": "Bạn có thể rút lại sự đồng ý này bất cứ lúc nào tại trang tài khoản Thai Nguyen ID.",
        "en": "You can withdraw this permission at any time on your Thai Nguyen ID account page.",
    },
    "allow": {"vi": "Đồng ý", "en": "Allow"},
    "deny": {"vi": "Từ chối", "en": "Deny"},
    "logged_in_as": {"vi": "Bạn đang đăng nhập là", "en": "You are logged in as"},
    "not_you": {"vi": "Không phải bạn? Đăng xuất", "en": "Not you? Log out"},
    "logout_title": {"vi": "Đăng xuất", "en": "Log out"},
    "logout_question": {
        "vi": "Bạn có muốn đăng xuất khỏi Thai Nguyen ID không?",
        "en": "Do you want to log out of Thai Nguyen ID?",
    },
    "logout_button": {"vi": "Đăng xuất", "en": "Log out"},
    "logged_out": {
        "vi": "Bạn đã đăng xuất. Hãy đóng trình duyệt nếu dùng máy chung.",
        "en": "You are logged out. Close the browser if this is a shared device.",
    },
    "connected_portals": {"vi": "Các cổng dịch vụ bạn đã cho phép", "en": "Portals you share with"},
    "withdraw": {"vi": "Rút lại sự đồng ý", "en": "Stop sharing"},
    "no_portals": {"vi": "Bạn chưa cho phép cổng dịch vụ nào.", "en": "You do not share with any portal."},
    "home_title": {"vi": "Tài khoản Thai Nguyen ID", "en": "Thai Nguyen ID account"},
    "home_anonymous": {"vi": "Bạn chưa đăng nhập.", "en": "You are not logged in."},
    "error_title": {"vi": "Không thể tiếp tục", "en": "Something went wrong"},
    "error_back": {
        "vi": "Vui lòng quay lại cổng dịch vụ và thử lại.",
        "en": "Please go back to the portal and try again.",
    },
    "error_code": {"vi": "Mã lỗi", "en": "Error code"},
    "expired": {
        "vi": "Phiên đăng nhập đã hết hạn. Vui lòng bắt đầu lại từ cổng dịch vụ.",
        "en": "This login has expired. Please start again from the portal.",
    },
    "not_found": {"vi": "Không tìm thấy trang này.", "en": "This page does not exist."},
    "continue": {"vi": "Tiếp tục", "en": "Continue"},
    "form_post_note": {"vi": "Đang chuyển bạn về cổng dịch vụ…", "en": "Taking you back to the portal…"},
    "language": {"vi": "English", "en": "Tiếng Việt"},
    "unavailable": {
        "vi": "Hệ thống đang bận trong giây lát. Vui lòng thử lại sau ít giây.",
        "en": "The service is briefly unavailable. Please try again in a few seconds.",
    },
    "wait_seconds": {
        "vi": "Bạn đã nhập sai nhiều lần. Vui lòng đợi {n} giây rồi thử lại.",
        "en": "Too many wrong attempts. Please wait {n} seconds and try again.",
    },
    "wait_locked": {
        "vi": "Bạn đã nhập sai quá nhiều lần, tài khoản tạm khoá. Vui lòng thử lại sau {n} phút (lúc {at}).",
        "en": "Too many wrong attempts: login is paused. Please try again in {n} minutes (at {at}).",
    },
    "too_many_requests": {
        "vi": "Có quá nhiều yêu cầu từ thiết bị của bạn. Vui lòng thử lại sau {n} giây.",
        "en": "Too many requests from your device. Please try again in {n} seconds.",
    },
}


def negotiate(ui_locales: list[str] | None = None) -> str:
    """The citizen's own choice (?lang=, then the cookie it left), then the portal's ui_locales
    (OIDC §3.1.2.1, a hint), then Accept-Language. The choice wins: a citizen who cannot read the
    language a portal asked for must be able to switch, for the whole login."""
    chosen = request.args.get("lang") or request.cookies.get("tnid_lang")
    if chosen in LOCALES:
        return chosen
    for tag in ui_locales or []:
        base = tag.split("-")[0].lower()
        if base in LOCALES:
            return base
    return request.accept_languages.best_match(LOCALES, default=services().settings.default_locale)


def use_locale(locale: str) -> None:
    g.locale = locale


def current_locale() -> str:
    return g.get("locale") or negotiate()


def t(key: str) -> str:
    return MESSAGES[key][current_locale()]


def other_locale() -> str:
    return "en" if current_locale() == "vi" else "vi"


def language_switch_url() -> str:
    """This page in the other language (the pending login, if any, is kept)."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    if request.method == "POST":
        try:
            interaction = request.form.get("interaction")
        except HTTPException:  # the body itself was refused (413): render the page without it
            interaction = None
        if interaction:
            args["interaction"] = interaction
    args["lang"] = other_locale()
    return request.script_root + request.path + "?" + urlencode(args)


def remember_language(response: Response) -> Response:
    """An explicit choice of language lasts for the rest of the visit."""
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        response.set_cookie(
            "tnid_lang", chosen, httponly=True, samesite="Lax", secure=services().settings.https
        )
    return response


def wait_message(seconds: int, locked: bool) -> str:
    """When to try again, in plain words (Vietnam time, the citizen's clock)."""
    if not locked:
        return t("wait_seconds").format(n=seconds)
    at = dt.datetime.now(VIETNAM) + dt.timedelta(seconds=seconds)
    return t("wait_locked").format(n=max(1, round(seconds / 60)), at=at.strftime("%H:%M"))
