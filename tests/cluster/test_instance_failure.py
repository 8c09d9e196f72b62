"""An instance dies under load (SIGKILL: no clean-up, as when its machine fails) while citizens
log in and portals refresh tokens through the round-robin proxy. The other instance carries
every flow on; only requests that were inside the dead instance at that moment fail; nothing any
completed flow created is lost; the restarted instance rejoins.
"""

from __future__ import annotations

import time

import pytest

from tests.cluster.conftest import requires_postgresql
from tests.cluster.flows import (
    Browser,
    Citizen,
    Flow,
    LoadGenerator,
    begin_login,
    check_all_still_work,
    code_of,
    consent_form,
    create_citizens,
    expect,
    half_written,
    missing_from_database,
    redeem,
    refresh,
    run_flow,
    submit_consent,
    submit_login,
    userinfo_response,
)
from tests.cluster.instances import running_cluster, server_errors

pytestmark = requires_postgresql

THREADS = 8
BEFORE_KILL = 12  # flows completed through both instances before A is killed
WHILE_DOWN = 20  # flows completed by B alone
AFTER_REJOIN = 10  # requests A answers through the proxy once restarted
WAIT = 90.0  # upper bound on each phase; each normally takes a few seconds


@pytest.fixture
def cluster(app, cluster_settings, tmp_path):
    with running_cluster(cluster_settings, tmp_path, "fault") as running:
        yield running


class HalfWay:
    """A citizen who logged in on A (interaction and session made by A) and has not yet
    consented when A dies: the rest happens through the proxy, that is on B."""

    def __init__(self, citizen: Citizen, a: str, portal: dict) -> None:
        self.citizen, self.portal = citizen, portal
        self.browser = Browser()
        self.params, form = begin_login(self.browser, a, portal)
        self.location = submit_login(self.browser, a, form, citizen)

    def finish(self, base: str, issuer: str) -> Flow:
        flow = Flow(self.citizen, started=time.monotonic(), session_cookie=self.browser.session_cookie)
        location = submit_consent(self.browser, base, consent_form(self.browser, base, self.location))
        flow.code = code_of(location, self.portal, self.params, issuer)
        flow.tokens = redeem(self.browser, base, self.portal, flow.code, self.params["_verifier"])
        flow.tokens = refresh(self.browser, base, self.portal, flow.tokens["refresh_token"])
        info = expect("userinfo", userinfo_response(self.browser, base, flow.tokens["access_token"]), 200)
        assert info.json()["sub"] == self.citizen.subject
        flow.steps = ["authorize", "login", "consent", "token", "refresh", "userinfo"]
        flow.ended = time.monotonic()
        self.browser.close()
        return flow


def test_killing_an_instance_under_load_loses_nothing_and_it_rejoins(app, cluster, portal):
    a, b, proxy, issuer = cluster.a, cluster.b, cluster.proxy, cluster.issuer
    people = create_citizens(app, 700)
    # Witnesses, set up on A before it dies: two half-way through a login, two with tokens A issued.
    half_way = [HalfWay(citizen, a.url, portal) for citizen in people[:2]]
    issued_by_a = [run_flow(a.url, portal, citizen, issuer, refreshes=1) for citizen in people[2:4]]
    assert all(f.completed for f in issued_by_a), [str(f.error) for f in issued_by_a]
    b_mark = b.log_mark()

    load = LoadGenerator(issuer, portal, people[4:], issuer, threads=THREADS).start()
    try:
        load.wait_for(
            lambda: load.completed_count() >= BEFORE_KILL, WAIT, f"{BEFORE_KILL} flows before the kill"
        )
        served = proxy.snapshot()
        assert served["A"]["answered"] and served["B"]["answered"], f"the proxy balances: {served}"

        kill_started = time.monotonic()
        a.kill()
        kill_done = time.monotonic()
        completed_at_kill = load.completed_count()

        # The witnesses carry on through the proxy: only B is there to answer.
        finished = [w.finish(issuer, issuer) for w in half_way]
        for flow in issued_by_a:
            browser = Browser()
            flow.tokens = refresh(browser, issuer, portal, flow.tokens["refresh_token"])
            expect("userinfo", userinfo_response(browser, issuer, flow.tokens["access_token"]), 200)
            browser.close()
        load.wait_for(
            lambda: load.completed_count() >= completed_at_kill + WHILE_DOWN,
            WAIT,
            f"{WHILE_DOWN} flows completed by B alone",
        )

        restarting = time.monotonic()
        a.start()  # same port, same settings
        a.wait_ready()
        answered = proxy.snapshot()["A"]["answered"]
        load.wait_for(
            lambda: proxy.snapshot()["A"]["answered"] >= answered + AFTER_REJOIN,
            WAIT,
            "the proxy's requests being answered by the restarted A",
        )
    finally:
        flows = load.stop()

    # Only requests that were inside A when it died failed, each with a dropped connection (no
    # answer at all, never a 5xx), exactly as many as the proxy saw go down with A.
    failed = [f for f in flows if f.error is not None]
    assert not [f for f in failed if not f.dropped], [str(f.error) for f in failed if not f.dropped]
    stats = proxy.snapshot()
    assert len(failed) == stats["A"].get("dropped", 0), (len(failed), stats)
    assert stats["B"].get("dropped", 0) == 0, stats
    assert all(kill_started <= drop.at <= kill_done + 2 for drop in proxy.drops), [
        round(d.at - kill_started, 3) for d in proxy.drops
    ]
    assert all(kill_started <= f.ended <= kill_done + 5 for f in failed), "failures only when A died"
    assert stats["A"].get("refused", 0) > 0, "the proxy met the dead A and sent its requests to B"

    loaded = [f for f in flows if f.completed]
    completed = loaded + finished + issued_by_a
    # Flows that were under way when A died (but not inside it) completed, on B.
    spanning = [f for f in loaded if f.started < kill_started < f.ended]
    assert len(loaded) >= BEFORE_KILL + WHILE_DOWN, len(loaded)
    print(
        f"\n{len(flows)} flows: {len(loaded)} completed ({len(spanning)} across the kill), "
        f"{len(failed)} inside A when it died; proxy {stats}"
    )

    # Nothing lost: every completed flow's session, consent and latest tokens are in the
    # database, and still work on B (userinfo, refresh, single sign-on with prompt=none).
    assert missing_from_database(app, completed, portal) == []
    assert check_all_still_work(b.url, portal, completed, issuer) == []
    # Nothing half-written by the requests that died with A.
    assert half_written(app, {portal["client_id"]}) == []
    # The restarted A serves the sessions and tokens made while it was dead.
    made_by_b_alone = [f for f in loaded if kill_done < f.started and f.ended < restarting][:10]
    assert made_by_b_alone
    assert check_all_still_work(a.url, portal, made_by_b_alone, issuer) == []
    errors = server_errors(b.log_since(b_mark)) + server_errors(a.log())
    assert not errors, "\n".join(errors[:20])
