"""Keys as files under ``keys/``: one encrypted PKCS#8 PEM per key and a JSON manifest of states.

Every write is a temporary file plus an atomic rename, mode 0600, so a reader never sees half a
file; changes are serialised across processes by an exclusive lock on ``keys/.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from .store import KeyStoreError, StoredKey

MANIFEST = "manifest.json"


class FileKeyStore:
    def __init__(self, directory: Path, passphrase: bytes) -> None:
        self.directory = Path(directory)
        self._passphrase = passphrase

    # --- reading ---------------------------------------------------------------------------
    def version(self) -> str:
        try:
            st = (self.directory / MANIFEST).stat()
        except FileNotFoundError:
            return "empty"
        return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"

    def _manifest(self) -> dict:
        path = self.directory / MANIFEST
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return {"keys": []}
        except (ValueError, OSError) as exc:
            raise KeyStoreError(f"{path}: not a readable key manifest ({exc.__class__.__name__})") from None

    def load(self) -> tuple[list[StoredKey], list[str]]:
        keys, problems = [], []
        for entry in self._manifest().get("keys", []):
            path = self.directory / f"{entry['kid']}.pem"
            try:
                private = serialization.load_pem_private_key(path.read_bytes(), self._passphrase)
            except FileNotFoundError:
                problems.append(f"{path}: missing")
                continue
            except (ValueError, TypeError) as exc:
                problems.append(
                    f"{path}: cannot be decrypted or parsed (corrupt file or wrong "
                    f"IDP_KEYS_PASSPHRASE): {exc.__class__.__name__}"
                )
                continue
            pem = private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            keys.append(
                StoredKey(
                    kid=entry["kid"],
                    alg=entry["alg"],
                    state=entry["state"],
                    created_at=entry["created_at"],
                    activated_at=entry.get("activated_at"),
                    retire_after=entry.get("retire_after"),
                    private_pem=pem,
                )
            )
        return keys, problems

    # --- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def add(self, key: StoredKey) -> None:
        private = serialization.load_pem_private_key(key.private_pem, None)
        encrypted = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        )
        self._write(f"{key.kid}.pem", encrypted)
        manifest = self._manifest()
        manifest["keys"].append(
            {
                "kid": key.kid,
                "alg": key.alg,
                "state": key.state,
                "created_at": key.created_at,
                "activated_at": key.activated_at,
                "retire_after": key.retire_after,
            }
        )
        self._write(MANIFEST, json.dumps(manifest, indent=2).encode())

    def set_state(self, kid: str, state: str, at: int) -> None:
        manifest = self._manifest()
        for entry in manifest["keys"]:
            if entry["kid"] == kid:
                entry["state"] = state
                if state == "active":
                    entry["activated_at"] = at
        self._write(MANIFEST, json.dumps(manifest, indent=2).encode())

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{name}.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.directory / name)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
