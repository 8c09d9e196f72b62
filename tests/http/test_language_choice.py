"""The citizen's own choice of language outranks the portal's ui_locales, for the whole login."""

from __future__ import annotations

from tests.support import FlaskBrowser, authorize_params, follow, hidden_fields, submit, without_private

PORTAL = "https://portal.example"


def test_switching_language_during_a_login_the_portal_asked_in_english(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    browser = FlaskBrowser(client)
    params = authorize_params(portal, ui_locales="en")
    page = follow(browser, browser.get("/authorize", **without_private(params)), PORTAL)
    assert '<html lang="en">' in page.text

    interaction = hidden_fields(page.text)["interaction"]
    page = browser.get("/login", interaction=interaction, lang="vi")
    assert '<html lang="vi">' in page.text and "Mật khẩu" in page.text

    # The choice lasts: the wrong-password answer and then the consent page stay in Vietnamese.
    page = submit(browser, page, "/login", identifier=citizen["citizen_id"], password="sai-mat-khau-roi")
    assert '<html lang="vi">' in page.text and "Thông tin đăng nhập không đúng" in page.text
    page = follow(browser, submit(browser, page, "/login", identifier=citizen["citizen_id"],
                                  password=citizen["password"]), PORTAL)
    assert 'name="decision"' in page.text and '<html lang="vi">' in page.text
