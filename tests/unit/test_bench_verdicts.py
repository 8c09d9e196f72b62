"""The arithmetic behind bench/RESULTS.md's verdicts: the paired rounds' ratios, the Argon2
subtraction of the login, the per-core comparison and the cost-growth bar (bench/run.py)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from idp.config import PROJECT_ROOT


@pytest.fixture(scope="module")
def bench():
    """bench/run.py as a module (it only re-executes itself when run outside the venv). It puts
    bench/ on sys.path itself to import its helpers; the path is restored for the other tests."""
    saved = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location("bench_run", PROJECT_ROOT / "bench" / "run.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path[:] = saved


def rounds(*rates, cpu=100.0):
    return [{"rps": rate, "server_cpu_pct": cpu} for rate in rates]


def test_the_ratio_is_the_median_of_the_rounds_each_taken_against_its_own_peer_round(bench):
    ours, peer = bench.paired(rounds(300, 100, 200), rounds(400, 100, 400), "token", None)

    assert ours["pair_ratios"] == [0.75, 1.0, 0.5]
    assert bench.ratio_cell(ours["pair_ratios"]) == "**0.75** (0.50–1.00)"
    # Each side's row is its own median round, not the round that gave the median ratio.
    assert ours["rps"] == 200 and peer["rps"] == 400
    assert ours["rounds_rps"] == [300, 100, 200] and peer["rounds_rps"] == [400, 100, 400]


def test_a_failed_round_on_either_side_leaves_its_pair_out(bench):
    mine = [{"rps": 300.0}, {"failed": "wrk exited 1"}, {"rps": 200.0}]
    theirs = [{"rps": 600.0}, {"rps": 500.0}, {"rps": 0.0}]

    ours, _ = bench.paired(mine, theirs, "token", None)

    assert ours["pair_ratios"] == [0.5]
    assert ours["rps"] == 200.0  # the median of the two rounds that measured anything (the lower)


def test_the_login_is_compared_without_the_argon2_time_measured_beside_it(bench):
    # 50 logins/s is 20 ms a login; less a 10 ms verify, 100 logins/s: twice the peer's 50.
    mine = [{"rps": 50.0, "server_cpu_pct": 100.0, "argon2_beside": {"verify_ms": 10.0}}]
    theirs = [{"rps": 50.0, "server_cpu_pct": 50.0}]

    ours, _ = bench.paired(mine, theirs, "flowjs", {"verify_ms": 15.0})

    assert ours["pair_ratios"] == [2.0]
    # Per second of server CPU: the peer spends 10 ms a login, ours 20 - 10 = 10 ms.
    assert ours["pair_ratios_per_core"] == [1.0]


def test_a_verify_longer_than_the_login_itself_gives_no_ratio_rather_than_a_wrong_one(bench):
    assert bench.minus_argon2(50.0, {"verify_ms": 25.0}) is None
    assert bench.minus_argon2(50.0, {"verify_ms": 10.0}) == pytest.approx(100.0)
    assert bench.per_core_ratio({"rps": 50.0, "server_cpu_pct": 100.0}, {"rps": 50.0, "server_cpu_pct": 90.0},
                                {"verify_ms": 25.0}) is None


def test_cost_growth_is_judged_on_the_cpu_per_request_so_a_disturbed_round_does_not_decide(bench):
    def run(rps, cpu_pct):
        return {"rps": rps, "requests": int(rps * 4), "seconds": 4.0, "server_cpu_pct": cpu_pct}

    row = bench.growth_row({
        # empty: 250 µs a request in every round
        "empty": [run(4000, 100.0), run(3600, 90.0), run(2000, 50.0)],
        # filled: 300 µs, one round starved by another job (40 % of the core)
        "filled": [run(3000, 90.0), run(1333, 40.0), run(3333, 100.0)],
    })

    assert row["empty_cpu_ms"] == pytest.approx(0.25)
    assert row["filled_cpu_ms"] == pytest.approx(0.30, rel=1e-3)
    assert row["cpu_ratio"] == pytest.approx(0.833, abs=1e-3)
    assert row["ratio"] == pytest.approx(3333 / 4000, abs=1e-3)  # the fastest round of each side
    assert row["pass"] is True


def test_cost_growth_fails_the_bar_when_a_request_costs_a_quarter_more(bench):
    def run(rps):
        return {"rps": rps, "requests": int(rps * 4), "seconds": 4.0, "server_cpu_pct": 100.0}

    row = bench.growth_row({"empty": [run(4000), run(4000)], "filled": [run(3000), run(3100)]})

    assert row["cpu_ratio"] < bench.GROWTH_BAR
    assert row["pass"] is False


def test_an_argon2_bound_flow_is_compared_with_the_mean_of_the_verifies_around_it(bench):
    before = {"verify_ms": 170.0, "hash_ms": 180.0, "foreign_cpu_pct": 1.0}
    after = {"verify_ms": 230.0, "hash_ms": 240.0, "foreign_cpu_pct": 3.0}

    reference = bench.bracket(before, after)

    assert reference["verify_ms"] == 200.0 and reference["verify_per_s"] == 5.0
    assert (reference["verify_ms_before"], reference["verify_ms_after"]) == (170.0, 230.0)
    assert reference["foreign_cpu_pct"] == 3.0  # the noisier of the two


def test_rounds_that_disagree_by_more_than_half_are_not_a_verdict(bench):
    assert bench.too_spread([0.49, 1.02, 1.56])
    assert not bench.too_spread([0.64, 0.72, 0.77])
    assert not bench.too_spread([1.3])
