"""``bench.scale_targets.evaluate``: each scale target is met, not met or
reported only exactly as the issue states it, on synthetic results."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from bench.scale_targets import evaluate, state_bytes_per_user

SMALL, LARGE = 1000, 10000


def run(wall_s: float, *, state_bytes: int = 0, peak: Optional[dict[str, int]] = None) -> dict[str, Any]:
    return {"wall_s": wall_s, "api_calls": {}, "cpu_s": {}, "peak_rss_mb": peak or {"cli": 100},
            "state_bytes": state_bytes}


def row(n: int, backend: str = "file", *, ms_per_user: float = 10.0, client_ms: float = 5.0,
        noop_ms: float = 4.0, update_s: Optional[float] = None, state_per_user: int = 1000,
        empty_state: int = 5000, peak: Optional[dict[str, int]] = None) -> dict[str, Any]:
    """Every scenario at ``n`` users: create/adopt/destroy at ``ms_per_user``, the client at ``client_ms``."""
    wall = round(n * ms_per_user / 1000, 2)
    noop = round(n * noop_ms / 1000, 2)
    return {"n": n, "backend": backend,
            "client": {"create": round(n * client_ms / 1000, 2), "destroy": round(n * client_ms / 1000, 2)},
            "runs": {"create": run(wall, state_bytes=empty_state + n * state_per_user, peak=peak),
                     "noop-preview": run(noop, state_bytes=empty_state + n * state_per_user),
                     "update": run(update_s if update_s is not None else noop),
                     "destroy": run(wall, state_bytes=empty_state),
                     "adopt": run(wall, state_bytes=empty_state + n * state_per_user)}}


def results(*rows: dict[str, Any], peer: Optional[list[dict[str, Any]]] = None,
            tools: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
    return {"meta": {"peer": "not measured: not built", "list_page_size": 50}, "rows": list(rows),
            "peer": peer or [], "tools": tools or []}


def find(targets: list[dict[str, Any]], prefix: str, scope: str, backend: str = "file") -> dict[str, Any]:
    matches = [t for t in targets if t["target"].startswith(prefix) and t["scope"] == scope
               and t["backend"] == backend]
    assert len(matches) == 1, (prefix, scope, [t["target"] for t in targets])
    return matches[0]


@pytest.mark.parametrize(("ms_per_user", "met"), [(14.9, True), (15.0, True), (15.1, False)],
                         ids=["under-3x", "exactly-3x", "over-3x"])
@pytest.mark.parametrize("scenario", ["create", "adopt", "destroy"])
def test_ratio_to_the_client_is_judged_at_the_largest_n_only(scenario, ms_per_user, met):
    targets = evaluate(results(row(SMALL, ms_per_user=50.0), row(LARGE, ms_per_user=ms_per_user)))
    assert find(targets, f"{scenario} <= 3x", f"N={LARGE}")["met"] is met
    assert find(targets, f"{scenario} <= 3x", f"N={SMALL}")["met"] is None


@pytest.mark.parametrize(("update_s", "met"), [(6.0, True), (6.1, False)], ids=["1.5x", "over-1.5x"])
def test_update_is_compared_with_the_noop_preview_of_the_same_stack(update_s, met):
    targets = evaluate(results(row(SMALL, noop_ms=4.0, update_s=update_s)))
    assert find(targets, "update <= 1.5x", f"N={SMALL}")["met"] is met


@pytest.mark.parametrize(("noop_ms", "met"), [(5.4, True), (5.5, False)], ids=["at-limit", "over-limit"])
def test_noop_preview_per_user_at_the_largest_n(noop_ms, met):
    targets = evaluate(results(row(SMALL, noop_ms=9.0), row(LARGE, noop_ms=noop_ms)))
    assert find(targets, "no-op preview", f"N={LARGE}")["met"] is met
    assert find(targets, "no-op preview", f"N={SMALL}")["met"] is None


@pytest.mark.parametrize(("large_ms", "met"), [(13.0, True), (13.1, False)], ids=["1.3x", "over-1.3x"])
def test_growth_of_time_per_user(large_ms, met):
    targets = evaluate(results(row(SMALL, ms_per_user=10.0), row(LARGE, ms_per_user=large_ms)))
    assert find(targets, "create: time per user grows", f"N={SMALL}->{LARGE}")["met"] is met


def test_no_growth_target_with_one_size():
    targets = evaluate(results(row(SMALL)))
    assert not [t for t in targets if "grows" in t["target"]]


@pytest.mark.parametrize(("per_user", "met"), [(1126, True), (1127, False)], ids=["at-budget", "over-budget"])
def test_state_counts_the_bytes_each_user_adds_not_the_empty_stack(per_user, met):
    # A large fixed part must not count against the per-user budget.
    targets = evaluate(results(row(SMALL, state_per_user=per_user, empty_state=200_000)))
    assert find(targets, "state <=", f"N={SMALL}")["met"] is met


def test_state_per_user_without_destroy_counts_everything():
    runs = {"create": run(1.0, state_bytes=11_000)}
    assert state_bytes_per_user(runs, "create", 10) == 1100
    assert state_bytes_per_user(runs, "destroy", 10) is None
    assert state_bytes_per_user({"create": run(1.0)}, "create", 10) is None


@pytest.mark.parametrize(("mb", "met"), [(1024, True), (1025, False)], ids=["at-bound", "over-bound"])
def test_peak_memory_bound_per_role(mb, met):
    targets = evaluate(results(row(SMALL), row(LARGE, peak={"cli": 100, "program": mb})))
    assert find(targets, "peak RSS of the program", f"N={LARGE}")["met"] is met
    assert find(targets, "peak RSS of the cli", f"N={LARGE}")["met"] is True


def test_peer_not_built_is_reported_not_judged():
    targets = evaluate(results(row(SMALL)))
    peer = find(targets, "create: no slower than OpenTofu", f"N={SMALL}")
    assert peer["met"] is None and "not measured" in peer["value"]


@pytest.mark.parametrize(("peer_create_s", "met"), [(10.0, True), (9.9, False)], ids=["as-fast", "slower"])
def test_peer_at_default_parallelism(peer_create_s, met):
    peer = [{"n": SMALL, "backend": "file", "parallelism": 10,
             "runs": {"create": peer_create_s, "noop-plan": 1.0, "update": 1.0, "destroy": 1.0}},
            {"n": SMALL, "backend": "file", "parallelism": 4,
             "runs": {"create": 1.0, "noop-plan": 1.0, "update": 1.0, "destroy": 1.0}}]
    targets = evaluate(results(row(SMALL, ms_per_user=10.0), peer=peer))
    target = find(targets, "create: no slower than OpenTofu", f"N={SMALL}")
    assert target["met"] is met
    assert "-parallelism=4" in target["value"]


def test_backends_are_judged_apart():
    targets = evaluate(results(row(LARGE, "file", ms_per_user=10.0), row(LARGE, "s3", ms_per_user=20.0)))
    assert find(targets, "create <= 3x", f"N={LARGE}", "file")["met"] is True
    assert find(targets, "create <= 3x", f"N={LARGE}", "s3")["met"] is False
    assert find(targets, "update <= 1.5x", f"N={LARGE}", "s3")["met"] is True


@pytest.mark.parametrize(("calls", "wall_s", "met"), [
    ({"GET /users": 200}, 5.0, True),
    ({"GET /users": 200}, 61.0, False),
    ({"GET /users": 200, "POST /users": 1}, 5.0, False),
], ids=["seconds-read-only", "minutes", "writes"])
def test_pull_takes_seconds_and_only_reads(calls, wall_s, met):
    tools = [{"tool": "pull", "case": "new file", "n": LARGE, "wall_s": wall_s, "api_calls": calls}]
    targets = evaluate(results(row(LARGE), tools=tools))
    assert find(targets, "pull of N users", f"N={LARGE}", "-")["met"] is met


@pytest.mark.parametrize(("calls", "met"), [
    ({"GET /users": 20}, True),
    ({"GET /users": 21}, True),
    ({"GET /users": 20, "GET /users/{userId}": 1000}, False),
    ({"GET /users": 40}, False),
], ids=["one-pass", "one-pass-and-an-empty-page", "get-per-user", "two-passes"])
def test_drift_is_one_list_pass(calls, met):
    tools = [{"tool": "drift", "case": "no drift", "n": SMALL, "wall_s": 1.0, "api_calls": calls, "backend": "s3"}]
    targets = evaluate(results(row(SMALL), tools=tools))
    assert find(targets, "drift:", f"N={SMALL}", "s3")["met"] is met
