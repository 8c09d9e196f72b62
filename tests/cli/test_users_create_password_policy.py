"""`idp users create` applies the same password policy as the registration page."""

from __future__ import annotations

import pytest

from idp.models import Citizen
from tests.cli.test_cli import assert_no_traceback, new_citizen_args, rows_in


@pytest.mark.parametrize("password", ["matkhau123456", "Password1234"])
def test_users_create_refuses_a_common_password(app, idp, password):
    argv, _ = new_citizen_args()

    result = idp(*argv, input=password + "\n")

    assert result.returncode != 0 and "common passwords" in result.stderr
    assert password not in result.stderr
    assert_no_traceback(result)
    assert rows_in(app, Citizen) == 0


def test_users_create_refuses_the_citizens_own_cccd_number_as_password(app, idp):
    argv, person = new_citizen_args()

    result = idp(*argv, input=person["citizen_id"] + "\n")

    assert result.returncode != 0 and "password" in result.stderr
    assert rows_in(app, Citizen) == 0
