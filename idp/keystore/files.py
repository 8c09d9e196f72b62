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

from .crypto import decrypt_pem, encrypt_pem
from .store import KeyStoreError, StoredKey

MANIFEST = "manifest.json"
_FIELDS = ("kid", "alg", "state", "created_at", "activated_at", "retire_after")


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

    def _entries(self) -> list[dict]:
        path = self.directory / MANIFEST
        try:
            return json.loads(path.read_text())["keys"]
        except FileNotFoundError:
            return []
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise KeyStoreError(f"{path}: not a readable key manifest ({exc.__class__.__name__})") from None

    def load(self) -> tuple[list[StoredKey], list[str]]:
        keys, problems = [], []
        for entry in self._entries():
            path = self.directory / f"{entry['kid']}.pem"
            try:
                pem = decrypt_pem(path.read_bytes(), self._passphrase)
            except FileNotFoundError:
                problems.append(f"{path}: missing")
                continue
            except KeyStoreError as exc:
                problems.append(f"{path}: {exc}")
                continue
            keys.append(StoredKey(**{f: entry.get(f) for f in _FIELDS}, private_pem=pem))
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
        self._write(f"{key.kid}.pem", encrypt_pem(key.private_pem, self._passphrase))
        entries = [e for e in self._entries() if e["kid"] != key.kid]
        entries.append({f: getattr(key, f) for f in _FIELDS})
        self._write_manifest(entries)

    def update(self, key: StoredKey) -> None:
        entries = self._entries()
        for entry in entries:
            if entry["kid"] == key.kid:
                entry.update({f: getattr(key, f) for f in _FIELDS})
        self._write_manifest(entries)

    def remove(self, kid: str) -> None:
        self._write_manifest([e for e in self._entries() if e["kid"] != kid])
        with contextlib.suppress(FileNotFoundError):
            (self.directory / f"{kid}.pem").unlink()

    def _write_manifest(self, entries: list[dict]) -> None:
        self._write(MANIFEST, json.dumps({"keys": entries}, indent=2).encode())

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
