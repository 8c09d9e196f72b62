"""The second step of a login is limited per client IP, like the password form (its own counter)."""

from __future__ import annotations

from tests.security.conftest import login_page


def test_the_second_factor_form_is_limited_per_client_ip(make_app):
    web = make_app(ratelimit_login="2/minute").test_client()
    token = login_page(web)["csrf_token"]
    answers = [
        web.post("/login/second-factor", data={"csrf_token": token, "method": "totp", "code": "123456"})
        for _ in range(3)
    ]

    assert [a.status_code for a in answers[:2]] == [400, 400]  # no password step before: nothing to do
    assert answers[2].status_code == 429 and int(answers[2].headers["Retry-After"]) > 0


def test_the_password_form_keeps_its_own_counter(make_app):
    web = make_app(ratelimit_login="2/minute").test_client()
    token = login_page(web)["csrf_token"]
    for _ in range(2):
        web.post("/login/second-factor", data={"csrf_token": token, "method": "totp", "code": "123456"})

    answer = web.post("/login", data={"csrf_token": token, "identifier": "0912345678", "password": "x"})

    assert answer.status_code != 429
