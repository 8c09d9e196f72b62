"""A form body is parsed once, by the strict check every request goes through; what the views
then read in request.form is exactly what werkzeug's own parser makes of the same bytes."""

import pytest
from flask import request
from werkzeug.wrappers import Request

from idp.web.params import check_encoding

BODIES = [
    b"identifier=079203001234&password=m%E1%BA%ADt+kh%E1%BA%A9u+d%C3%A0i&csrf_token=abc",
    b"name=Nguy%E1%BB%85n+Th%E1%BB%8B+H%E1%BB%93ng&empty=&flag",
    b"scope=openid&scope=profile&a%26b=c%3Dd&plus=1%2B1+2",
    b"decision=allow&interaction=Qk3-_x",
]


@pytest.mark.parametrize("body", BODIES)
def test_the_checked_form_is_werkzeugs_form(app, body):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with app.test_request_context("/login", method="POST", data=body, headers=headers):
        check_encoding()
        checked = list(request.form.lists())
    with app.test_request_context("/login", method="POST", data=body, headers=headers):
        expected = list(Request(request.environ).form.lists())

    assert checked == expected


def test_a_body_that_is_not_utf8_is_refused_before_any_view_reads_it(app):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with (app.test_request_context("/login", method="POST", data=b"password=%FF%FE", headers=form),
          pytest.raises(Exception, match="not valid UTF-8")):
        check_encoding()
