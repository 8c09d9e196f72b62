"""Grant ids (credentials.new_grant_id) are unique and time-ordered, so that the grant_id
indexes grow at their end."""

from __future__ import annotations

import re
import time

from idp.credentials import new_grant_id


def test_grant_ids_are_unique_and_fit_the_column():
    ids = [new_grant_id() for _ in range(10_000)]

    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in ids)  # String(32)


def test_a_later_grant_id_sorts_after_an_earlier_one():
    earlier = [new_grant_id() for _ in range(100)]
    time.sleep(0.002)
    later = [new_grant_id() for _ in range(100)]

    assert max(earlier) < min(later)
