"""The key-encryption passphrase: IDP_KEYS_PASSPHRASE, or a random one kept in the instance folder."""

from __future__ import annotations

from ..config import Settings, persistent_secret


def resolve_passphrase(settings: Settings) -> bytes:
    if settings.keys_passphrase:
        return settings.keys_passphrase.encode()
    return persistent_secret(settings.instance_dir / "keys_passphrase").encode()
