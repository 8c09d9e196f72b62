"""A login page's writes wait in memory and are written at its commit in one go
(lean.deferring): all of them or none, whether they end in the group commit or, when the page
needs the Session after all, in the Session's transaction."""

import threading

import pytest
from flask import current_app
from sqlalchemy import bindparam, delete, insert, select

from idp import lean
from idp.extensions import db
from idp.models import LoginThrottle

_THROTTLES = LoginThrottle.__table__
_ADD = insert(_THROTTLES)
_REMOVE = delete(_THROTTLES).where(_THROTTLES.c.key == bindparam("gone"))


def row(key: str) -> dict:
    return {"key": key, "failures": 1, "last_failure_at": 0, "not_before": 0, "locked": False}


def keys() -> set[str]:
    """What is committed, read on a connection of its own (a read through the Session would
    itself begin the Session's transaction)."""
    with db.engine.connect() as conn:
        return set(conn.scalars(select(LoginThrottle.key)))


@pytest.fixture
def page(ctx):
    with lean.deferring() as unit:
        yield unit


def test_a_page_writes_nothing_before_its_commit_and_everything_at_it(page):
    lean.execute(_ADD, row("first"))
    lean.execute(_ADD, row("second"))

    assert keys() == set() and not page.promoted
    lean.commit()
    assert keys() == {"first", "second"} and not page.promoted


def test_a_page_that_ends_without_committing_writes_nothing(ctx):
    with lean.deferring():
        lean.execute(_ADD, row("dropped"))

    assert keys() == set()


def test_a_condition_that_fails_at_the_commit_undoes_the_whole_page(page):
    lean.execute(_ADD, row("with-the-answer"))
    assert lean.execute(_REMOVE, {"gone": "never-there"}, expected_rows=1) is True  # known later

    with pytest.raises(lean.Conflict):
        lean.commit()
    assert keys() == set()


def test_a_page_that_needs_the_session_writes_its_waiting_rows_in_the_same_transaction(page):
    lean.execute(_ADD, row("waiting"))
    db.session.add(LoginThrottle(**row("orm")))  # the ORM: the Session's transaction begins
    db.session.flush()
    assert page.promoted
    lean.execute(_ADD, row("after"))  # and the page goes on in it

    db.session.rollback()
    assert keys() == set()


def test_a_session_commit_in_a_page_commits_what_waits(page):
    lean.execute(_ADD, row("waiting"))

    db.session.commit()  # code that commits the Session directly loses nothing

    assert keys() == {"waiting"}


def test_in_a_group_commit_one_request_s_failed_condition_undoes_only_its_own_rows(ctx):
    """Two requests queued behind the write lock are written in one transaction; the one whose
    condition fails gets Conflict, the other its commit."""
    database: lean.LeanDatabase = current_app.extensions["idp.lean"]
    results: dict[str, object] = {}
    app = current_app._get_current_object()

    def request(name: str, writes: list) -> None:
        with app.app_context(), database.connect() as conn:
            try:
                database.commit(conn, writes)
                results[name] = "committed"
            except lean.Conflict:
                results[name] = "conflict"

    failing = [(_ADD, row("undone"), None), (_REMOVE, {"gone": "never-there"}, 1)]
    passing = [(_ADD, row("kept"), None)]
    threads = [threading.Thread(target=request, args=a) for a in (("failing", failing), ("passing", passing))]
    with database._leader:  # both queue before either can lead (SQLite); PostgreSQL commits each alone
        for thread in threads:
            thread.start()
        while len(database._queue) < 2 and database.is_sqlite:
            threading.Event().wait(0.001)
    for thread in threads:
        thread.join()

    assert results == {"failing": "conflict", "passing": "committed"}
    assert keys() == {"kept"}
