"""The long-lived objects one app instance owns, built once in ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from .config import Settings
from .identity.passwords import Passwords
from .keystore import KeyRing


@dataclass
class Services:
    settings: Settings
    passwords: Passwords
    keyring: KeyRing


def services() -> Services:
    return current_app.extensions["idp"]
