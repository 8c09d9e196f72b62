"""The error page speaks to the citizen in the page's language; the protocol's English description,
written for the portal's developers, is only a marked detail beneath."""

from __future__ import annotations

import re

ALERT = re.compile(r'<p class="error" role="alert">([^<]*)</p>')


def test_an_unknown_portal_is_explained_in_vietnamese(client):
    response = client.get("/authorize", query_string={"client_id": "khong-co", "response_type": "code"})

    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert ALERT.search(body).group(1).startswith("Cổng dịch vụ đã gửi một yêu cầu đăng nhập không hợp lệ")
    assert '<span lang="en">No portal is registered with this client_id.</span>' in body
    assert "<code>invalid_client</code>" in body


def test_the_same_page_in_english(client):
    body = client.get("/authorize?client_id=khong-co&lang=en").get_data(as_text=True)

    assert ALERT.search(body).group(1).startswith("The portal sent a login request")


def test_a_page_that_does_not_exist_needs_no_detail(client):
    body = client.get("/khong-co-trang-nay").get_data(as_text=True)

    assert ALERT.search(body).group(1) == "Không tìm thấy trang này."
    assert 'lang="en">' not in body.split("<footer")[0]
