"""Six-digit codes: hashed at rest, limited tries, expiry, single use, resend with back-off."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.identity import verification
from idp.models import AuditEvent, Citizen, VerificationCode
from tests.support import hidden_fields


def log_in(client, citizen: dict) -> None:
    page = client.get("/login")
    form = hidden_fields(page.get_data(as_text=True))
    answer = client.post("/login", data={**form, "identifier": citizen["citizen_id"],
                                         "password": citizen["password"]})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]


def post(client, path: str, **fields):
    page = client.get("/verify/phone")
    return client.post(path, data={**hidden_fields(page.get_data(as_text=True)), **fields})


def send(client):
    return post(client, "/verify/phone/send")


def enter(client, code: str):
    return post(client, "/verify/phone", code=code)


def words(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def phone_verified(app, citizen: dict) -> bool:
    with app.app_context():
        return db.session.get(Citizen, citizen["pk"]).phone_verified


@pytest.fixture
def citizen(make_citizen, client):
    """A logged-in citizen whose phone is not verified yet."""
    person = make_citizen()
    log_in(client, person)
    clock.freeze()
    return person


def test_the_right_code_verifies_the_phone(app, client, citizen, outbox):
    assert send(client).status_code == 200

    answer = enter(client, outbox.last_code(citizen["phone"]))

    assert answer.status_code == 303 and phone_verified(app, citizen)


def test_a_code_is_stored_only_as_a_keyed_hash(app, client, citizen, outbox):
    send(client)
    code = outbox.last_code(citizen["phone"])

    with app.app_context():
        row = db.session.scalar(select(VerificationCode))
        stored = [str(getattr(row, column.key)) for column in VerificationCode.__table__.columns]
    assert not any(code in value for value in stored)
    assert row.code_hash != hashlib.sha256(code.encode()).hexdigest()  # keyed, not a bare digest


def test_a_wrong_code_is_counted_and_the_citizen_told_how_many_tries_are_left(app, client, citizen, outbox):
    send(client)
    code = outbox.last_code(citizen["phone"])
    wrong = "000000" if code != "000000" else "111111"

    answer = enter(client, wrong)

    assert answer.status_code == 400 and "Mã chưa đúng. Bạn còn 4 lần thử." in words(answer)
    assert not phone_verified(app, citizen)
    [event] = _audit(app, "verification_failed")
    assert event.details == {"purpose": "verify_phone", "reason": "wrong"}


def test_after_five_wrong_tries_even_the_right_code_is_refused(app, client, citizen, outbox):
    send(client)
    code = outbox.last_code(citizen["phone"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        enter(client, wrong)

    answer = enter(client, code)

    assert answer.status_code == 400 and "sai quá nhiều lần" in words(answer)
    assert not phone_verified(app, citizen)


def test_a_code_expires_after_ten_minutes(app, client, citizen, outbox):
    send(client)
    code = outbox.last_code(citizen["phone"])
    clock.advance(10 * 60)

    answer = enter(client, code)

    assert answer.status_code == 400 and "Mã đã hết hạn" in words(answer)
    assert not phone_verified(app, citizen)


def test_something_that_is_not_six_digits_is_explained_and_not_counted(app, client, citizen, outbox):
    send(client)
    code = outbox.last_code(citizen["phone"])

    answer = enter(client, "12ab")

    assert answer.status_code == 400 and "nhập đủ 6 chữ số" in words(answer)
    assert enter(client, code[:3] + " " + code[3:]).status_code == 303  # spaces are forgiven


def test_asking_again_at_once_gets_429_with_retry_after_and_plain_words(client, citizen, outbox):
    send(client)

    too_soon = send(client)

    assert too_soon.status_code == 429 and too_soon.headers["Retry-After"] == "30"
    assert "Vui lòng đợi 30 giây" in words(too_soon)
    assert len(outbox.messages(citizen["phone"])) == 1


def test_the_wait_doubles_after_each_resend(client, citizen, outbox):
    waits = []
    for _ in range(4):
        assert send(client).status_code == 200
        waits.append(int(send(client).headers["Retry-After"]))
        clock.advance(waits[-1])

    assert waits == [30, 60, 120, 240]


def test_at_most_five_codes_an_hour(client, citizen, outbox):
    for _ in range(5):
        assert send(client).status_code == 200
        clock.advance(600)  # longer than any back-off so far

    capped = send(client)

    assert capped.status_code == 429 and int(capped.headers["Retry-After"]) == 3600 - 5 * 600
    assert "Vui lòng đợi 10 phút" in words(capped)
    clock.advance(10 * 60)
    assert send(client).status_code == 200  # a new hour, a new series


def test_a_new_code_replaces_the_old_one(app, client, citizen, outbox):
    send(client)
    old = outbox.last_code(citizen["phone"])
    clock.advance(30)
    send(client)
    new = outbox.last_code(citizen["phone"], count=2)
    if new == old:
        pytest.skip("the two random codes happen to be equal")

    assert enter(client, old).status_code == 400
    assert enter(client, new).status_code == 303 and phone_verified(app, citizen)


def test_verifying_needs_a_logged_in_citizen(client):
    assert client.get("/verify/phone").headers["Location"].startswith("/login")


def test_no_code_is_in_the_audit_trail(app, client, citizen, outbox):
    send(client)
    code = outbox.last_code(citizen["phone"])
    enter(client, "000000" if code != "000000" else "111111")
    enter(client, code)

    trail = " ".join(str(e.details) for e in _audit(app))
    assert code not in trail
    assert {"verification_code_sent", "verification_failed", "contact_verified"} <= {
        e.event_type for e in _audit(app)
    }


# --- the rules underneath, without a page -----------------------------------------------------------
def test_a_code_works_once_and_only_for_its_purpose(app, make_citizen):
    person = make_citizen()
    with app.app_context():
        row = db.session.get(Citizen, person["pk"])
        code = verification.issue(row, "verify_phone", "sms", row.phone)

        assert verification.check(row.id, "reset_password", code).reason == "none"
        first = verification.check(row.id, "verify_phone", code)
        assert first.ok and verification.consume(first.row)
        assert verification.check(row.id, "verify_phone", code).reason == "none"
        assert not verification.consume(first.row)  # a replay of the same row is refused
        db.session.rollback()


def _audit(app, event_type: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent)
        if event_type:
            query = query.where(AuditEvent.event_type == event_type)
        return list(db.session.scalars(query))


def test_parallel_guesses_together_get_no_more_than_five_tries(app, make_citizen):
    from concurrent.futures import ThreadPoolExecutor

    person = make_citizen()
    with app.app_context():
        row = db.session.get(Citizen, person["pk"])
        code = verification.issue(row, "verify_phone", "sms", row.phone)
        db.session.commit()
    wrong = "000000" if code != "000000" else "111111"

    def guess(_):
        with app.app_context():
            reason = verification.check(person["pk"], "verify_phone", wrong).reason
            db.session.commit()
            db.session.remove()
            return reason

    with ThreadPoolExecutor(max_workers=6) as pool:
        reasons = list(pool.map(guess, range(12)))

    assert reasons.count("wrong") == 4 and reasons.count("locked") == 8
    with app.app_context():
        assert db.session.scalar(select(VerificationCode.attempts)) == 5
        assert verification.check(person["pk"], "verify_phone", code).reason == "locked"
