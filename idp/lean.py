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
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from .extensions import db

log = logging.getLogger(__name__)
# Group commits between two WAL checkpoints (SQLite): each writes a few pages of each table and
# index it touches, so each checkpoint copies some tens of MB.
CHECKPOINT_EVERY = 1000
# WAL frames (4 KiB pages) past which a checkpoint that could not copy the whole WAL finishes
# under the write lock (≈ 200 MB). That pass waits for two fdatasyncs (≈ 10 ms) with every writer
# waiting; after each 1,000 commits it left the core idle 7-10 % of the time under token load
# (bench/CHANGES.md, 2026-12-05). Under a lighter load the pass outside the lock copies the whole
# WAL and SQLite starts it again by itself.
LOCKED_CHECKPOINT_FRAMES = 50_000


class Record:
    """One row, with attribute access by column key (duck-types the model for read-only rules)."""

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)


class _Compiled:
    def __init__(self, stmt: ClauseElement, dialect, keys: tuple[str, ...] | None) -> None:
        # An INSERT names the columns it is given values for, as Session.execute() compiles it.
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        self.sql = str(compiled)
        # Columns whose Python-side default or onupdate (updated_at = now…) SQLAlchemy's execution
        # context would compute: such a statement is left to Connection.execute (write()).
        self.computes_defaults = bool(
            getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None)
        )
        self.positional = compiled.positiontup  # None with a named paramstyle (psycopg)
        self.binds = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.binds[name] = process
        # (name, processor or None) in the order the driver wants them.
        self.plan = [(name, self.binds.get(name)) for name in self.positional or ()]
        self.keys: list[str] = []
        self.results: list = []
        if getattr(stmt, "is_select", False):
            for column in stmt.selected_columns:
                self.keys.append(column.key)
                self.results.append(column.type.dialect_impl(dialect).result_processor(dialect, None))

    def params(self, values: dict):
        if self.positional is not None:
            return [values[name] if process is None else process(values[name]) for name, process in self.plan]
        binds = self.binds
        if binds:
            return {k: (binds[k](v) if k in binds else v) for k, v in values.items()}
        return values

    def values(self, row) -> list:
        return [p(v) if p is not None else v for p, v in zip(self.results, row, strict=True)]


class LeanDatabase:
    """One per app: the engine, the statements compiled for its dialect, the hot path's own
    connections, and the group commit."""

    def __init__(self, engine: Engine, max_idle: int = 16) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._compiled: dict[tuple, tuple[ClauseElement, _Compiled]] = {}
        self._compile_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Batch] = []
        self._leader = threading.Lock()
        # The hot path's connections: DB-API connections taken out of the engine's pool for
        # good (detached), reused last-returned-first, so that a connection's page cache is warm
        # and a request costs no pool checkout, no pre-ping and no reset. A connection that fails
        # is closed and forgotten: its request goes on to the full endpoint, whose pool pings.
        self._idle: list = []
        self._max_idle = max_idle
        self._busy: set = set()  # the LeanConnections in use (a set: add/discard are atomic)
        # SQLite: every group commit writes on this one connection (under the leader lock), so
        # its page cache stays valid from one commit to the next; a connection that another
        # connection has written behind drops its whole cache at its next transaction.
        self._writer = None
        # SQLite: the WAL is copied back into the database file (checkpointed) by the request
        # whose group commit is the CHECKPOINT_EVERY-th, after it has let go of the write lock.
        self.checkpoint_every = CHECKPOINT_EVERY
        self.locked_checkpoint_frames = LOCKED_CHECKPOINT_FRAMES
        self._commits = 0
        _databases.add(self)

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

    def _new_raw(self):
        fairy = self.engine.raw_connection()  # the engine's connect events (PRAGMAs) have run
        fairy.detach()
        raw = fairy.dbapi_connection
        if not self.is_sqlite:
            # A read is one round trip, not three (BEGIN, SELECT, ROLLBACK): each statement is
            # its own transaction, which under READ COMMITTED sees what a BEGIN … ROLLBACK around
            # it would have seen. Writes make their own transaction (_in_one_message).
            raw.autocommit = True
        return raw

    def _new_writer(self):
        raw = self._new_raw()
        # SQLite's own checkpoint runs inside the commit that crosses its threshold, holding the
        # write lock while it waits for the disk (fdatasync), and every other writer waits with
        # it: the core went idle under token load (84-93 % busy against 97-99 % for the flows
        # that write less). The writer's commits leave it to commit() below, outside the lock;
        # this threshold (≈ 400 MB of WAL) is only the backstop should those checkpoints fail.
        raw.execute("PRAGMA wal_autocheckpoint=100000")
        # The one connection whose cache survives from one commit to the next (no other writes
        # behind it under token load): SQLite's default 2 MB, not the readers' smaller cache.
        raw.execute("PRAGMA cache_size=-2000")
        return raw

    def _checkpoint(self, conn: LeanConnection) -> None:
        """Copy the WAL back into the database file: on the request's own connection and outside
        the write lock (PASSIVE waits for no reader and no writer, so the group commits go on
        while this one waits for the disk). If that could not copy it whole (commits came
        meanwhile) and the WAL has grown past ``locked_checkpoint_frames``, the frames committed
        meanwhile are copied under the lock, so that the next commit starts the WAL again from
        its beginning (else it would grow to the backstop under a steady load). A failure is
        left to the next one."""
        try:
            _busy, frames, copied = conn.raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if copied == frames or frames < self.locked_checkpoint_frames:
                return
            with self._leader:
                if self._writer is not None:
                    self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception as exc:
            log.warning("WAL checkpoint failed (%s); the next one will try again", exc.__class__.__name__)

    @contextlib.contextmanager
    def connect(self) -> Iterator[LeanConnection]:
        """A connection for one request. On any error the transaction is rolled back and the
        connection closed before the error goes on (a dead PostgreSQL connection is seen here:
        the request falls back to the full endpoint)."""
        try:
            raw = self._idle.pop()
        except IndexError:
            raw = self._new_raw()
        conn = LeanConnection(self, raw)
        self._busy.add(conn)
        try:
            yield conn
        except BaseException:
            _close_quietly(raw)
            raise
        else:
            conn.cursor.close()
            if self.is_sqlite:
                if raw.in_transaction:
                    raw.rollback()
            elif raw.info.transaction_status:  # psycopg: anything but IDLE
                raw.rollback()
            if len(self._idle) < self._max_idle:
                self._idle.append(raw)
            else:
                raw.close()
        finally:
            self._busy.discard(conn)

    def read(self, stmt: ClauseElement, values: dict, factory: Callable[[dict], Any] = Record) -> Any:
        """One row read on a pooled connection, outside any Session (the login pages' plain
        reads). A driver error is raised as SQLAlchemy's own (OperationalError…), as the ORM
        raises it, so that a database outage gets the app's clean, retryable 503."""
        with self.driver_errors(), self.connect() as conn:
            row = conn.first(stmt, values, factory)
            conn.end_read()
            return row

    @contextlib.contextmanager
    def driver_errors(self) -> Iterator[None]:
        """A driver error raised as SQLAlchemy's own (IntegrityError, OperationalError…), as the
        ORM and Connection.execute raise it."""
        dbapi_error = self.dialect.loaded_dbapi.Error
        try:
            yield
        except dbapi_error as exc:
            raise DBAPIError.instance(None, None, exc, dbapi_error, dialect=self.dialect) from exc

    def _forget(self) -> None:
        """In a forked child: the parent's connections are not ours to use (nor to close)."""
        self._idle, self._writer, self._busy = [], None, set()
        self._queue, self._queue_lock, self._leader = [], threading.Lock(), threading.Lock()

    def _write_group(self, writer, batches: list[_Batch]) -> None:
        """The queued requests' writes in one transaction and one commit. A request whose
        condition fails (Conflict: a refresh token used twice at once, a login form sent twice)
        gets the error alone: the transaction is rolled back and written again without it. That
        is rare, and costs the others nothing until it happens (a SAVEPOINT around each request
        would cost every one of them)."""
        batches = list(batches)
        while batches:
            cursor = writer.cursor()
            current = batches[0]
            try:
                for current in batches:
                    _write(self, cursor, current.writes)
                writer.commit()
                return
            except Conflict as exc:
                writer.rollback()
                current.error = exc
                batches.remove(current)
            finally:
                cursor.close()

    def commit(self, conn: LeanConnection, writes: list[tuple]) -> None:
        """Write and commit one request's INSERTs; return once they are committed.

        SQLite has one writer at a time, and a commit waits for the disk (60 µs typically, a few
        milliseconds now and then): the requests that arrive meanwhile queue here, and the next
        one to get the write lock writes all of them in one transaction and one commit (group
        commit). Each request is still answered only after its rows are committed; if the
        transaction fails, every request in it gets the error and writes nothing (but for a
        failed condition, which fails only its own request: _write_group). Python's lock
        also keeps the waiting writers out of SQLite's busy handler, which sleeps a millisecond
        or more. PostgreSQL takes concurrent writers itself: each request commits on its own,
        its statements and the COMMIT sent in one message (one round trip)."""
        if not self.is_sqlite:
            _in_one_message(conn, writes)
            return
        batch = _Batch(writes)
        with self._queue_lock:
            self._queue.append(batch)
        with self._leader:
            if not batch.done:
                # No pause for the other requests under way to join: they join while this
                # commit runs (SQLite lets go of the GIL for its I/O) and are written by the next
                # leader. A sleep(0) here made every thread give the GIL away once more per
                # request: with four threads on one core it cost more CPU than it batched
                # (in process, 20-40 % more per token than one thread; without it, the same).
                with self._queue_lock:
                    taken, self._queue = self._queue, []
                error = None
                writer = self._writer
                try:
                    if writer is None:
                        writer = self._writer = self._new_writer()
                    self._write_group(writer, taken)
                    self._commits += 1
                    if self._commits >= self.checkpoint_every:
                        self._commits = 0
                        batch.checkpoint = True
                except Exception as exc:
                    error = exc
                    if writer is not None:
                        try:
                            writer.rollback()
                        except Exception:
                            _close_quietly(writer)
                            self._writer = None
                for each in taken:
                    if error is not None:
                        each.error = error
                    each.done = True
        if batch.error is not None:
            raise batch.error
        if batch.checkpoint:
            self._checkpoint(conn)


_databases: weakref.WeakSet[LeanDatabase] = weakref.WeakSet()


def _forget_all_after_fork() -> None:
    for database in list(_databases):
        database._forget()


os.register_at_fork(after_in_child=_forget_all_after_fork)


def _close_quietly(raw) -> None:
    """A connection that failed is closed, never reused (its state is not known)."""
    with contextlib.suppress(Exception):  # a dead connection cannot even roll back
        raw.rollback()
    with contextlib.suppress(Exception):
        raw.close()


def _in_one_message(conn: LeanConnection, writes: list[tuple]) -> None:
    """PostgreSQL (psycopg, autocommit): the request's statements bound on the client side
    (psycopg's own quoting: ClientCursor.mogrify) and sent as one message, so the writes cost one
    round trip; the statements of one message are one transaction (PostgreSQL's implicit
    transaction block: all or nothing, stopping at the first error). With a conditional UPDATE
    (expected_rows) the message opens a transaction (BEGIN) and the counts are checked before the
    COMMIT, which then costs a second round trip."""
    from psycopg import ClientCursor

    database = conn.database
    cursor = ClientCursor(conn.raw)
    try:
        sql, counted = [], []
        for stmt, values, expected_rows in writes:
            rows = values if isinstance(values, list) else [values]
            compiled = database.compiled(stmt, rows[0])
            for row in rows:
                if expected_rows is not None:
                    counted.append((len(sql), expected_rows))
                sql.append(cursor.mogrify(compiled.sql, compiled.params(row)))
        if counted:
            sql.insert(0, "BEGIN")
            counted = [(index + 1, expected) for index, expected in counted]
        cursor.execute(";\n".join(sql))
        if counted:
            counts, more = [cursor.rowcount], True
            while more:
                more = cursor.nextset()
                counts.append(cursor.rowcount)
            if any(counts[index] != expected for index, expected in counted):
                raise Conflict()
            conn.raw.commit()
    finally:
        cursor.close()


class Conflict(Exception):
    """A conditional UPDATE changed another number of rows than it must (a refresh token used
    twice at once): the transaction is abandoned, and the full endpoint answers instead."""


def _execute(database: LeanDatabase, cursor, stmt: ClauseElement, values: dict | list[dict]) -> int:
    return _run(cursor, database.compiled(stmt, values[0] if isinstance(values, list) else values), values)


def _run(cursor, compiled: _Compiled, values: dict | list[dict]) -> int:
    if isinstance(values, list):
        cursor.executemany(compiled.sql, [compiled.params(v) for v in values])
    else:
        cursor.execute(compiled.sql, compiled.params(values))
    return cursor.rowcount


def _write(database: LeanDatabase, cursor, writes: list[tuple]) -> None:
    for stmt, values, expected_rows in writes:
        count = _execute(database, cursor, stmt, values)
        if expected_rows is not None and count != expected_rows:
            raise Conflict()


class _Batch:
    __slots__ = ("checkpoint", "done", "error", "writes")

    def __init__(self, writes: list) -> None:
        self.writes = writes
        self.done = False
        self.checkpoint = False  # this request checkpoints the WAL once its answer is committed
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
        rows = self.cursor.fetchall()  # to the end: SQLite's statement (and its snapshot) ends
        return compiled.values(rows[0]) if rows else None

    def first(self, stmt: ClauseElement, values: dict, factory: Callable[[dict], Any] = Record) -> Any:
        """The first row as a Record (or as what ``factory`` makes of its dict), or None."""
        row = self.first_values(stmt, values)
        if row is None:
            return None
        return factory(dict(zip(self.database.compiled(stmt).keys, row, strict=True)))

    def execute(self, stmt: ClauseElement, values: dict | list[dict]) -> int:
        return _execute(self.database, self.cursor, stmt, values)

    def end_read(self) -> None:
        """End a transaction that only read, so the pool's rollback finds nothing to do."""
        if not self.database.is_sqlite:
            self.raw.rollback()


@dataclass
class LeanRequest:
    """A unit of work whose writes wait in memory until ``commit()``: a request the hot path
    answers (its connection, what the audit trail needs to know of it, the INSERTs it made), or
    a login page's (``page``: no connection until it commits, and the audit trail reads the
    address, user agent and request id from Flask's request as for any page; see ``deferring``)."""

    connection: LeanConnection | None
    ip_address: str | None
    user_agent: str | None
    request_id: str | None
    actor: str
    writes: list = field(default_factory=list)
    page: bool = False
    # A page whose work needed the Session after all (an ORM read or write, a statement with a
    # Python-side default): its waiting writes went into the Session's transaction, and so does
    # everything after them, committed by the Session.
    promoted: bool = False


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


def execute(stmt: ClauseElement, values: dict | list[dict], expected_rows: int | None = None) -> bool:
    """Add a prebuilt INSERT, UPDATE or DELETE to the current unit of work: a hot-path request's
    or a deferring page's, written when it commits (nothing in such a request reads these rows
    back), else the Flask-SQLAlchemy session's, run at once.

    ``expected_rows``: the statement must change exactly that many rows. Run at once, the answer
    says whether it did; waiting for the commit, the answer is True and the commit raises
    Conflict, abandoning the whole unit of work, if it does not."""
    request = _current.get()
    # A statement whose default SQLAlchemy computes in Python (updated_at…) is the Session's.
    if (
        request is not None
        and not request.promoted
        and not (request.page and _database().compiled(stmt, _first(values)).computes_defaults)
    ):
        request.writes.append((stmt, values, expected_rows))
        return True
    count = write(stmt, values)
    return expected_rows is None or count == expected_rows


def write(stmt: ClauseElement, values: dict | list[dict]) -> int:
    """Run a prebuilt Core INSERT, UPDATE or DELETE in the Flask request's transaction, on the
    Session's own connection, and return the number of rows it changed. The statement compiled
    once (as the hot path's are) goes straight to the driver's cursor: Connection.execute's
    per-statement machinery cost more than the statement itself (≈ 30 µs on SQLite), and none of
    these depends on an ORM change still pending. A driver error is raised as SQLAlchemy's own
    (IntegrityError, OperationalError…), as Connection.execute raises it."""
    connection = _session_connection(db.session())
    database: LeanDatabase = current_app.extensions["idp.lean"]
    compiled = database.compiled(stmt, values[0] if isinstance(values, list) else values)
    if compiled.computes_defaults:
        return connection.execute(stmt, values).rowcount
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        with database.driver_errors():
            return _run(cursor, compiled, values)
    finally:
        cursor.close()


# The Session's connection while its transaction lasts, kept in Session.info: Session.connection()
# walks SQLAlchemy's transaction state machine on every call (≈ 20 µs, nine writes a login).
_CONNECTION = "idp.lean.connection"


def _session_connection(session: Session) -> Connection:
    connection = session.info.get(_CONNECTION)
    if connection is None:
        connection = session.connection()  # begins the Session's transaction if none is under way
        session.info[_CONNECTION] = connection
    return connection


# Forgotten whenever a transaction, a SAVEPOINT included, begins or ends: Session.connection()
# is what emits a pending SAVEPOINT, so the first write inside one must go through it.
@event.listens_for(Session, "after_transaction_create")
@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session: Session, transaction) -> None:
    session.info.pop(_CONNECTION, None)


def commit() -> None:
    """Commit the unit of work under way: the writes a hot-path request or a deferring page
    made (on SQLite in the group commit, on PostgreSQL in one message), else the Session."""
    request = _current.get()
    if request is None or request.promoted:
        db.session.commit()
        return
    if not request.writes:
        return
    writes, request.writes = request.writes, []
    if request.connection is not None:
        request.connection.database.commit(request.connection, writes)
        return
    database = _database()
    with database.driver_errors(), database.connect() as conn:
        database.commit(conn, writes)


def rollback() -> None:
    """Forget what the unit of work under way has written and not committed."""
    request = _current.get()
    if request is not None:
        request.writes.clear()
    db.session.rollback()


@contextlib.contextmanager
def deferring() -> Iterator[LeanRequest]:
    """A Flask page whose writes wait for its ``commit()`` and are then written in one go, as
    the hot path's are: on SQLite in the group commit, on the writer connection whose page cache
    stays warm, with no Session transaction (pool checkout, BEGIN, COMMIT, check-in) and no
    wait in SQLite's busy handler for the write lock another connection holds; on PostgreSQL in
    one round trip. Reads go on as before, on connections of their own, seeing what is committed.

    Should the page need the Session after all (an ORM read or write, or a Session commit),
    the writes waiting are run first in the Session's transaction and the page goes on there
    (``promoted``): one transaction either way, never two."""
    with serving(LeanRequest(None, None, None, None, "citizen", page=True)) as unit:
        yield unit


def dialect_name() -> str:
    return _database().dialect.name


def _database() -> LeanDatabase:
    return current_app.extensions["idp.lean"]


def _first(values: dict | list[dict]) -> dict:
    return values[0] if isinstance(values, list) else values


def _promote(session: Session, connection: Connection | None = None) -> None:
    """The deferring page's waiting writes, run in the Session's transaction (see deferring)."""
    request = _current.get()
    if request is None or not request.page or request.promoted:
        return
    if not db.session.registry.has() or session is not db.session.registry():
        return  # another Session (none today): the page's writes are the request's Session's
    request.promoted = True
    writes, request.writes = request.writes, []
    if not writes:
        return
    connection = connection if connection is not None else _session_connection(session)
    database = _database()
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        with database.driver_errors():
            _write(database, cursor, writes)
    finally:
        cursor.close()


@event.listens_for(Session, "after_begin")
def _promote_on_begin(session: Session, transaction, connection: Connection) -> None:
    _promote(session, connection)


@event.listens_for(Session, "before_commit")
def _promote_on_commit(session: Session) -> None:
    _promote(session)
