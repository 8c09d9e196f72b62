"""lean.write runs in the Flask request's own transaction: what a commit ends is kept, what a
rollback ends is gone, and the next write after either begins a new transaction."""

from sqlalchemy import delete, func, insert, select

from idp import lean
from idp.extensions import db
from idp.models import LoginThrottle

_ADD = insert(LoginThrottle.__table__)


def row(key: str) -> dict:
    return {"key": key, "failures": 1, "last_failure_at": 0, "not_before": 0, "locked": False}


def keys() -> set[str]:
    return set(db.session.scalars(select(LoginThrottle.key)))


def test_a_write_after_a_commit_is_in_a_new_transaction(ctx):
    lean.write(_ADD, row("kept"))
    db.session.commit()
    lean.write(_ADD, row("rolled-back"))
    db.session.rollback()

    assert keys() == {"kept"}
    db.session.execute(delete(LoginThrottle))
    db.session.commit()


def test_a_rolled_back_savepoint_leaves_the_outer_transaction_writing(ctx):
    lean.write(_ADD, row("outer"))
    savepoint = db.session.begin_nested()
    lean.write(_ADD, row("inner"))
    savepoint.rollback()
    lean.write(_ADD, row("after"))
    db.session.commit()

    assert keys() == {"outer", "after"}
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 2
    db.session.execute(delete(LoginThrottle))
    db.session.commit()
