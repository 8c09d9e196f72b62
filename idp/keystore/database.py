"""Keys in the database, shared by every instance. Changes are serialised by an advisory lock
(PostgreSQL) or, for SQLite (one machine), a file lock in the instance folder: processes that share
a SQLite key store must share IDP_INSTANCE_DIR too."""

from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, delete, func, insert, select, text
from sqlalchemy import update as sql_update

from ..models.signing_key import SigningKey
from .crypto import decrypt_pem, encrypt_pem
from .store import KeyStoreError, StoredKey

_TABLE = SigningKey.__table__
_LOCK_ID = zlib.crc32(b"thainguyen-id signing keys")
_FIELDS = ("kid", "alg", "state", "created_at", "activated_at", "retire_after")


class DatabaseKeyStore:
    def __init__(self, database_url: str, passphrase: bytes, lock_dir: Path) -> None:
        # An engine of its own: a key reload never joins (or breaks) a request's transaction.
        self.engine: Engine = (
            create_engine(database_url, pool_size=1, max_overflow=2, pool_pre_ping=True)
            if not database_url.startswith("sqlite")
            else create_engine(database_url)
        )
        self._passphrase = passphrase
        self._lock_path = Path(lock_dir) / "signing_keys.lock"
        self._conn: Connection | None = None

    def version(self) -> str:
        with self.engine.connect() as conn:
            revision, count = conn.execute(select(func.max(_TABLE.c.revision), func.count())).one()
        return f"{revision}:{count}"

    def load(self) -> tuple[list[StoredKey], list[str]]:
        keys, problems = [], []
        with self.engine.connect() as conn:
            rows = conn.execute(select(_TABLE).order_by(_TABLE.c.created_at)).mappings().all()
        for row in rows:
            try:
                pem = decrypt_pem(row["private_key"], self._passphrase)
            except KeyStoreError as exc:
                problems.append(f"signing_keys row kid={row['kid']}: {exc}")
                continue
            keys.append(StoredKey(**{f: row[f] for f in _FIELDS}, private_pem=pem))
        return keys, problems

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        # Lock first, commit before unlocking: the next holder must see our writes.
        with self._file_lock_if_sqlite(), self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None

    @contextlib.contextmanager
    def _file_lock_if_sqlite(self) -> Iterator[None]:
        if self.engine.dialect.name != "sqlite":
            yield
            return
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _locked(self) -> Connection:
        if self._conn is None:
            raise KeyStoreError("key store changes must be made under lock()")
        return self._conn

    def _next_revision(self, conn: Connection) -> int:
        return (conn.execute(select(func.max(_TABLE.c.revision))).scalar() or 0) + 1

    def add(self, key: StoredKey) -> None:
        conn = self._locked()
        conn.execute(
            insert(_TABLE).values(
                **{f: getattr(key, f) for f in _FIELDS},
                private_key=encrypt_pem(key.private_pem, self._passphrase),
                revision=self._next_revision(conn),
            )
        )

    def update(self, key: StoredKey) -> None:
        conn = self._locked()
        conn.execute(
            sql_update(_TABLE)
            .where(_TABLE.c.kid == key.kid)
            .values(**{f: getattr(key, f) for f in _FIELDS if f != "kid"}, revision=self._next_revision(conn))
        )

    def remove(self, kid: str) -> None:
        conn = self._locked()
        # The row count is part of the version, so other workers notice the removal.
        conn.execute(delete(_TABLE).where(_TABLE.c.kid == kid))
