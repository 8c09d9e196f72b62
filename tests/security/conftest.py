"""An app of its own for each security test, so its counters and settings touch no other test."""

from __future__ import annotations

import dataclasses
import re

import pytest

from idp import create_app


@pytest.fixture
def make_app(app, settings, tmp_path):
    """make_app(**settings overrides) → a provider sharing the test database, with its own keys."""

    def make(**overrides):
        overrides.setdefault("keys_dir", settings.keys_dir)
        built = create_app(dataclasses.replace(settings, **overrides))
        built.config["TESTING"] = True
        return built

    return make


def login_page(web, path="/login") -> dict:
    """The hidden fields (csrf_token, interaction) of the login form."""
    html = web.get(path).get_data(as_text=True)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def try_login(web, identifier: str, password: str):
    return web.post("/login", data={**login_page(web), "identifier": identifier, "password": password})
