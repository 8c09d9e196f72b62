"""`idp clients create --minimum-acr`: a portal that accepts only level 2 or 3 logins."""

from __future__ import annotations

import json

LOA2 = "urn:thainguyen:id:loa:2"


def test_a_portal_registered_with_a_minimum_level_shows_it(app, idp):
    created = idp("clients", "create", "--name", "Cổng BHXH", "--redirect-uri", "https://bhxh.example/cb",
                  "--minimum-acr", LOA2, "--json")
    assert created.returncode == 0, created.stderr
    client_id = json.loads(created.stdout)["client_id"]
    assert json.loads(created.stdout)["minimum_acr"] == LOA2

    shown = idp("clients", "show", client_id)
    assert LOA2 in shown.stdout


def test_an_unknown_level_is_refused_with_the_choices(app, idp):
    refused = idp("clients", "create", "--name", "X", "--redirect-uri", "https://x.example/cb",
                  "--minimum-acr", "urn:thainguyen:id:loa:9")
    assert refused.returncode != 0
    assert "urn:thainguyen:id:loa:2" in refused.stderr and "Traceback" not in refused.stderr
