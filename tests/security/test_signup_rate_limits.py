"""Per-IP limits on registration and on the pages that send or check 6-digit codes."""

from __future__ import annotations

import re

from tests.security.conftest import login_page


def post_form(web, page_path: str, action: str, **fields):
    return web.post(action, data={**login_page(web, page_path), **fields})


def test_registration_is_limited_per_client_ip(make_app):
    web = make_app(ratelimit_register="2/minute").test_client()
    for _ in range(2):
        assert post_form(web, "/register", "/register", citizen_id="1").status_code == 400

    blocked = post_form(web, "/register", "/register", citizen_id="1")

    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "Vui lòng thử lại sau" in blocked.get_data(as_text=True)


def test_asking_for_reset_codes_is_limited_per_client_ip(make_app):
    web = make_app(ratelimit_send_code="2/minute").test_client()
    for number in ("019090001234", "019090001235"):
        assert post_form(web, "/password/forgot", "/password/forgot", identifier=number).status_code == 303

    blocked = post_form(web, "/password/forgot", "/password/forgot", identifier="019090001236")

    assert blocked.status_code == 429 and "Retry-After" in blocked.headers


def test_code_checks_share_one_limit_per_client_ip(make_app):
    web = make_app(ratelimit_check_code="2/minute").test_client()
    post_form(web, "/password/forgot", "/password/forgot", identifier="019090001234")
    for _ in range(2):
        answer = post_form(web, "/password/reset", "/password/reset", code="000000",
                           password="mot cau rat dai de nho", password_confirm="mot cau rat dai de nho")
        assert answer.status_code == 400

    blocked = post_form(web, "/password/reset", "/password/reset", code="000000")

    assert blocked.status_code == 429
    assert re.search(r"thử lại sau \d+ giây", blocked.get_data(as_text=True))
