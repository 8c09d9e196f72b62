"""Prebuilt Core statements run straight on a pooled DB-API connection, for the hot path
(idp/web/hotpath.py), which answers the busiest token-endpoint requests before Flask.

Each statement is compiled once per dialect with SQLAlchemy's own bind and result processors, so
the values written and read are exactly those the ORM writes and reads; what is saved is the
Session, the unit of work and the per-execution statement machinery (≈ 30 µs a statement on
SQLite, more than the statement itself).

While the hot path answers a request, ``current()`` is that request: ``execute()`` (used by the
audit trail and the token store) then writes on its connection, in its transaction, with its
address, user agent and request id. Anywhere else ``execute()`` is ``db.session.execute()``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.sql import ClauseElement

from .extensions import db


class Record:
    """One row, with attribute access by column key (duck-types the model for read-only rules)."""

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)


class _Compiled:
    def __init__(self, stmt: ClauseElement, dialect, keys: tuple[str, ...] | None) -> None:
        # An INSERT names the columns it is given values for, as Session.execute() compiles it.
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        self.sql = str(compiled)
        self.positional = compiled.positiontup  # None with a named paramstyle (psycopg)
        self.binds = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.binds[name] = process
        self.keys: list[str] = []
        self.results: list = []
        if getattr(stmt, "is_select", False):
            for column in stmt.selected_columns:
                self.keys.append(column.key)
                self.results.append(column.type.dialect_impl(dialect).result_processor(dialect, None))

    def params(self, values: dict):
        binds = self.binds
        if self.positional is not None:
            return tuple(
                binds[name](values[name]) if name in binds else values[name] for name in self.positional
            )
        if binds:
            return {k: (binds[k](v) if k in binds else v) for k, v in values.items()}
        return values

    def values(self, row) -> list:
        return [p(v) if p is not None else v for p, v in zip(self.results, row, strict=True)]


class LeanDatabase:
    """One per app: the engine, the statements compiled for its dialect, and the group commit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._compiled: dict[tuple, tuple[ClauseElement, _Compiled]] = {}
        self._compile_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Batch] = []
        self._leader = threading.Lock()

    def compiled(self, stmt: ClauseElement, values: dict | None = None) -> _Compiled:
        keys = tuple(values) if values is not None and getattr(stmt, "is_insert", False) else None
        found = self._compiled.get((id(stmt), keys))
        if found is None:
            with self._compile_lock:
                # The statement is kept with its compiled form so that its id cannot be reused.
                found = self._compiled.setdefault(
                    (id(stmt), keys), (stmt, _Compiled(stmt, self.dialect, keys))
                )
        return found[1]

    @contextlib.contextmanager
    def connect(self) -> Iterator[LeanConnection]:
        """A pooled connection for one request. On any error the transaction is rolled back (or
        the connection dropped if even that fails) before the error goes on."""
        raw = self.engine.raw_connection()
        conn = LeanConnection(self, raw)
        try:
            yield conn
        except BaseException:
            try:
                raw.rollback()
            except Exception:
                raw.invalidate()
            raise
        finally:
            raw.close()  # back to the pool

    def commit(self, conn: LeanConnection, writes: list[tuple]) -> None:
        """Write and commit one request's INSERTs; return once they are committed.

        SQLite has one writer at a time, and a commit waits for the disk (60 µs typically, a few
        milliseconds now and then): the requests that arrive meanwhile queue here, and the next
        one to get the write lock writes all of them in one transaction and one commit (group
        commit). Each request is still answered only after its rows are committed; if the
        transaction fails, every request in it gets the error and writes nothing. Python's lock
        also keeps the waiting writers out of SQLite's busy handler, which sleeps a millisecond
        or more. PostgreSQL takes concurrent writers itself: each request commits on its own."""
        if not self.is_sqlite:
            _write(conn, writes)
            conn.raw.commit()
            return
        batch = _Batch(writes)
        with self._queue_lock:
            self._queue.append(batch)
        with self._leader:
            if not batch.done:
                # Let the threads that are about to write join this commit (a few µs when alone).
                time.sleep(0)
                with self._queue_lock:
                    taken, self._queue = self._queue, []
                error = None
                try:
                    for each in taken:
                        _write(conn, each.writes)
                    conn.raw.commit()
                except Exception as exc:
                    conn.raw.rollback()
                    error = exc
                for each in taken:
                    each.error, each.done = error, True
        if batch.error is not None:
            raise batch.error


class Conflict(Exception):
    """A conditional UPDATE changed another number of rows than it must (a refresh token used
    twice at once): the transaction is abandoned, and the full endpoint answers instead."""


def _write(conn: LeanConnection, writes: list[tuple]) -> None:
    for stmt, values, expected_rows in writes:
        count = conn.execute(stmt, values)
        if expected_rows is not None and count != expected_rows:
            raise Conflict()


class _Batch:
    __slots__ = ("done", "error", "writes")

    def __init__(self, writes: list) -> None:
        self.writes = writes
        self.done = False
        self.error: Exception | None = None


class LeanConnection:
    def __init__(self, database: LeanDatabase, raw) -> None:
        self.database = database
        self.raw = raw
        self.cursor = raw.cursor()

    def first_values(self, stmt: ClauseElement, values: dict) -> list | None:
        """The first row's values, in the order of the statement's columns."""
        compiled = self.database.compiled(stmt)
        self.cursor.execute(compiled.sql, compiled.params(values))
        row = self.cursor.fetchone()
        return None if row is None else compiled.values(row)

    def first(self, stmt: ClauseElement, values: dict) -> Record | None:
        row = self.first_values(stmt, values)
        return None if row is None else Record(dict(zip(self.database.compiled(stmt).keys, row, strict=True)))

    def execute(self, stmt: ClauseElement, values: dict | list[dict]) -> int:
        compiled = self.database.compiled(stmt, values[0] if isinstance(values, list) else values)
        if isinstance(values, list):
            self.cursor.executemany(compiled.sql, [compiled.params(v) for v in values])
        else:
            self.cursor.execute(compiled.sql, compiled.params(values))
        return self.cursor.rowcount

    def end_read(self) -> None:
        """End a transaction that only read, so the pool's rollback finds nothing to do."""
        if not self.database.is_sqlite:
            self.raw.rollback()


@dataclass
class LeanRequest:
    """A request the hot path answers: its connection, what the audit trail needs to know of it,
    and the INSERTs it made, written at ``commit()``."""

    connection: LeanConnection
    ip_address: str | None
    user_agent: str | None
    request_id: str
    actor: str
    writes: list = field(default_factory=list)


_current: ContextVar[LeanRequest | None] = ContextVar("idp_lean_request", default=None)


def current() -> LeanRequest | None:
    return _current.get()


@contextlib.contextmanager
def serving(request: LeanRequest) -> Iterator[LeanRequest]:
    token = _current.set(request)
    try:
        yield request
    finally:
        _current.reset(token)


def execute(stmt: ClauseElement, values: dict | list[dict], expected_rows: int | None = None) -> None:
    """Add a prebuilt INSERT or UPDATE to the current unit of work: the hot path's request,
    written when it commits (nothing in a request reads these rows back), else the
    Flask-SQLAlchemy session. ``expected_rows`` (hot path only): the UPDATE must change exactly
    that many rows, or the whole transaction is abandoned (Conflict)."""
    request = _current.get()
    if request is not None:
        request.writes.append((stmt, values, expected_rows))
    else:
        db.session.execute(stmt, values)


def commit() -> None:
    """Commit what the current hot-path request wrote."""
    request = _current.get()
    if request is not None and request.writes:
        request.connection.database.commit(request.connection, request.writes)
