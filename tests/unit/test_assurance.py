"""The acr ladder and what a request demands (pure rules; the HTTP tests show them at work)."""

from __future__ import annotations

import pytest

from idp.identity.assurance import LOA1, LOA2, LOA3, Demand, rank


def test_the_ladder_is_ordered_and_unknown_values_rank_zero():
    assert [rank(LOA1), rank(LOA2), rank(LOA3)] == [1, 2, 3]
    assert rank("urn:example:gold") == 0 and rank(None) == 0


@pytest.mark.parametrize(
    "demand, required",
    [
        (Demand(), 0),
        (Demand(voluntary=(LOA3,)), 0),  # voluntary: never a floor
        (Demand(minimum=LOA2), 2),
        (Demand(essential=(LOA3, LOA2)), 2),  # any listed value satisfies: the lowest is the floor
        (Demand(essential=(LOA1,), minimum=LOA2), 2),  # the portal's minimum still holds
    ],
)
def test_what_a_request_requires(demand, required):
    assert demand.required == required


@pytest.mark.parametrize(
    "demand, session_acr, reported",
    [
        (Demand(), LOA2, LOA2),
        (Demand(essential=(LOA2,)), LOA3, LOA2),  # must be one of the values (OIDC Core §5.5.1.1)
        (Demand(essential=(LOA1, LOA2)), LOA3, LOA2),  # the highest one the session satisfies
        (Demand(voluntary=(LOA1,)), LOA2, LOA2),  # voluntary: the token says what happened
    ],
)
def test_what_the_id_token_says(demand, session_acr, reported):
    assert demand.reported(session_acr) == reported
