"""The targets of issue 7, evaluated on a results dict for each main setting.

Each row says what was measured, the limit and whether it is met (``None``
when the run has no data for it, e.g. a single size for scaling). The
smallest and largest sizes of the run stand for N=100 and N=1,000.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.compare import Results, per_user_ms
from bench.defaults import (
    ALLOY_STACK,
    DEFAULT_SETTING,
    DRIFT_MAX_RATIO_TO_REFRESH,
    PULL_MAX_S,
    DESTROY,
    LIFECYCLE_MAX_RATIO_TO_BASELINE,
    LIFECYCLE_SCENARIOS,
    NOOP_MAX_API_CALLS,
    NOOP_MAX_RATIO_TO_FLOOR,
    NOOP_SCENARIOS,
    REFRESH,
    REFRESH_LIST_CALLS,
    SCALING_MAX_RATIO,
    SCENARIOS,
    STATE_MAX_BYTES_PER_USER,
)

LIST_ROUTE = "GET /users"


@dataclass(frozen=True)
class Target:
    """One evaluated target."""

    target: str
    setting: str
    scope: str
    value: str
    limit: str
    met: bool | None


def evaluate(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target row, for every main setting, as JSON-ready dicts."""
    results = Results(raw)
    rows = [asdict(row) for setting in results.main_settings for row in _evaluate(results, setting)]
    return rows + [asdict(row) for row in _tool_targets(raw)]


def _tool_targets(raw: dict[str, Any]) -> list[Target]:
    """The read-only tools (``bench.tools``): pull in seconds, drift about one refresh, both read-only."""
    rows: list[Target] = []
    fastest: dict[tuple[str, str, int], dict[str, Any]] = {}
    for entry in raw.get("tools", []):
        key = (entry["tool"], entry["case"], entry["n"])
        if key not in fastest or entry["wall_s"] < fastest[key]["wall_s"]:
            fastest[key] = entry
    for (tool, case, n), entry in sorted(fastest.items()):
        routes = {route: count for route, count in entry["api_calls"].items() if count}
        reads_only = set(routes) <= {LIST_ROUTE}
        scope = f"{tool} N={n}" + (f" ({case})" if tool == "pull" else "")

        def add(target: str, value: str, limit: str, met: bool | None, scope: str = scope) -> None:
            rows.append(Target(target, DEFAULT_SETTING, scope, value, limit, met))

        add("only GET /users (read-only, no GET per user)", ", ".join(f"{r} {c}" for r, c in routes.items()) or "0",
            LIST_ROUTE, reads_only)
        if tool == "pull":
            add(f"pull in under {PULL_MAX_S:g} s", _text(entry["wall_s"], "s"), f"< {PULL_MAX_S:g} s",
                entry["wall_s"] < PULL_MAX_S)
        elif entry.get("refresh_wall_s"):
            ratio = entry["wall_s"] / entry["refresh_wall_s"]
            add(f"drift within {DRIFT_MAX_RATIO_TO_REFRESH:g}x of a refresh",
                f"{_times(ratio)} ({_text(entry['wall_s'], 's')} vs {_text(entry['refresh_wall_s'], 's')})",
                f"<= {DRIFT_MAX_RATIO_TO_REFRESH:g}x", ratio <= DRIFT_MAX_RATIO_TO_REFRESH)
    return rows


def _evaluate(results: Results, setting: str) -> list[Target]:
    rows: list[Target] = []
    sizes = results.sizes
    if not sizes:
        return rows
    small, large = sizes[0], sizes[-1]

    def add(target: str, scope: str, value: str, limit: str, met: bool | None) -> None:
        rows.append(Target(target, setting, scope, value, limit, met))

    for scenario in NOOP_SCENARIOS:
        for n in sizes:
            run = results.run(ALLOY_STACK, n, scenario, setting)
            calls = None if run is None else sum(run["api_calls"].values())
            add("no-op makes no API call", f"{scenario} N={n}", _text(calls), f"<= {NOOP_MAX_API_CALLS}",
                None if calls is None else calls <= NOOP_MAX_API_CALLS)
            ratio = results.ratio_to_floor(n, scenario, setting)
            add("no-op within 1.2x of the engine floor", f"{scenario} N={n}", _times(ratio),
                f"<= {NOOP_MAX_RATIO_TO_FLOOR}x", _at_most(ratio, NOOP_MAX_RATIO_TO_FLOOR))
    for scenario in LIFECYCLE_SCENARIOS:
        wall = results.wall(ALLOY_STACK, large, scenario, setting)
        reference = results.larger_baseline(large, scenario, setting)
        ratio = None if wall is None or not reference else wall / reference
        add("within 1.5x of the larger baseline", f"{scenario} N={large}",
            f"{_times(ratio)} ({_text(wall, 's')} vs {_text(reference, 's')})",
            f"<= {LIFECYCLE_MAX_RATIO_TO_BASELINE}x", _at_most(ratio, LIFECYCLE_MAX_RATIO_TO_BASELINE))
    for scenario in SCENARIOS:
        big = per_user_ms(results.wall(ALLOY_STACK, large, scenario, setting), large)
        little = per_user_ms(results.wall(ALLOY_STACK, small, scenario, setting), small)
        ratio = None if large == small or big is None or not little else big / little
        add("time per user grows at most 1.3x", f"{scenario} N={small}->{large}",
            f"{_times(ratio)} ({_text(little, 'ms')} -> {_text(big, 'ms')})",
            f"<= {SCALING_MAX_RATIO}x", _at_most(ratio, SCALING_MAX_RATIO))
    for n in sizes:
        run = results.run(ALLOY_STACK, n, REFRESH, setting)
        if run is None:
            add("refresh is one GET /users", f"N={n}", "-", f"{REFRESH_LIST_CALLS} call", None)
            continue
        lists, total = run["api_routes"].get(LIST_ROUTE, 0), sum(run["api_calls"].values())
        add("refresh is one GET /users", f"N={n}", f"{lists} list, {total} calls in all",
            f"{REFRESH_LIST_CALLS} call", lists == REFRESH_LIST_CALLS and total == REFRESH_LIST_CALLS)
    for n in sizes:
        seen = [run["state_bytes"] for scenario in SCENARIOS if scenario != DESTROY
                and (run := results.run(ALLOY_STACK, n, scenario, setting)) is not None]
        per_user = max(seen) / n if seen else None
        add("state under 1.5 KB per user", f"N={n}", _text(per_user, "B/user"),
            f"< {STATE_MAX_BYTES_PER_USER} B", None if per_user is None else per_user < STATE_MAX_BYTES_PER_USER)
    return rows


def _at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _text(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return "-"
    number = f"{value:.2f}" if isinstance(value, float) else str(value)
    return f"{number} {unit}".strip()
