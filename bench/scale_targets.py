"""The targets of the scale issue, evaluated on the results of ``bench.scale``.

Each target row says what was measured, on which backend and at which N,
the value, the limit, and whether it is met (``None``: reported only, or no
data in this run). Ratios are to baselines measured in the same run.
"""

from __future__ import annotations

from typing import Any, Optional

CREATE, NOOP_PREVIEW, UPDATE, DESTROY, ADOPT = "create", "noop-preview", "update", "destroy", "adopt"
# Create, adopt and destroy: at most this many times the 4-worker client (adopt: its create).
MAX_RATIO_TO_CLIENT = 3.0
CLIENT_BASELINE = {CREATE: CREATE, ADOPT: CREATE, DESTROY: DESTROY}
# Update of 1% of the users: at most this many times a no-op preview of the same stack.
MAX_UPDATE_TO_NOOP = 1.5
# No-op preview: at most half of the 10.8 ms per user that the issue measured at 10,000.
NOOP_MS_PER_USER_BEFORE = 10.8
MAX_NOOP_MS_PER_USER = NOOP_MS_PER_USER_BEFORE / 2
# Time per user at the largest N: at most this many times that at the smallest.
MAX_GROWTH = 1.3
# Peak RSS of each process (CLI, program, provider, wrapper) at the largest N.
MAX_PEAK_RSS_MB = 1024
# State: no larger than the 1.1 KB per user of before.
MAX_STATE_BYTES_PER_USER = 1126
# Ours -> the peer's scenario doing the same work (a `tofu plan` refreshes by default).
PEER_SCENARIOS = {CREATE: "create", NOOP_PREVIEW: "noop-plan", UPDATE: "update", DESTROY: "destroy"}
PEER_DEFAULT_PARALLELISM = 10
SCENARIO_ORDER = (CREATE, NOOP_PREVIEW, UPDATE, DESTROY, ADOPT)
# pull of N users into a new manifest "takes seconds, not minutes".
MAX_PULL_S = 60.0
LIST_ROUTE = "GET /users"


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target row of ``results`` (the dict ``bench.scale.run`` returns)."""
    targets: list[dict[str, Any]] = []

    def add(target: str, backend: str, scope: str, value: str, limit: str, met: Optional[bool]) -> None:
        targets.append({"target": target, "backend": backend, "scope": scope, "value": value, "limit": limit,
                        "met": met})

    rows = sorted(results.get("rows", []), key=lambda row: (row["backend"], row["n"]))
    backends = list(dict.fromkeys(row["backend"] for row in rows))
    for backend in backends:
        mine = [row for row in rows if row["backend"] == backend]
        largest = mine[-1]["n"]
        for row in mine:
            n, runs, client = row["n"], row["runs"], row["client"]
            for scenario, baseline in CLIENT_BASELINE.items():
                if scenario in runs and client.get(baseline):
                    ratio = runs[scenario]["wall_s"] / client[baseline]
                    add(f"{scenario} <= {MAX_RATIO_TO_CLIENT:g}x the 4-worker client ({baseline})", backend,
                        f"N={n}", f"{ratio:.2f}x ({runs[scenario]['wall_s']} s vs {client[baseline]} s)",
                        f"<= {MAX_RATIO_TO_CLIENT:g}x", ratio <= MAX_RATIO_TO_CLIENT if n == largest else None)
            if UPDATE in runs and NOOP_PREVIEW in runs:
                ratio = runs[UPDATE]["wall_s"] / runs[NOOP_PREVIEW]["wall_s"]
                add(f"update <= {MAX_UPDATE_TO_NOOP:g}x a no-op preview", backend, f"N={n}",
                    f"{ratio:.2f}x ({runs[UPDATE]['wall_s']} s vs {runs[NOOP_PREVIEW]['wall_s']} s)",
                    f"<= {MAX_UPDATE_TO_NOOP:g}x", ratio <= MAX_UPDATE_TO_NOOP)
            if NOOP_PREVIEW in runs:
                per_user = runs[NOOP_PREVIEW]["wall_s"] * 1000 / n
                add(f"no-op preview <= half of {NOOP_MS_PER_USER_BEFORE:g} ms/user", backend, f"N={n}",
                    f"{per_user:.2f} ms/user", f"<= {MAX_NOOP_MS_PER_USER:g} ms/user",
                    per_user <= MAX_NOOP_MS_PER_USER if n == largest else None)
            per_user_b = max((value for value in (state_bytes_per_user(runs, name, n) for name in runs)
                              if value is not None), default=None)
            if per_user_b is not None:
                add(f"state <= {MAX_STATE_BYTES_PER_USER} B/user", backend, f"N={n}", f"{per_user_b:.0f} B/user",
                    f"<= {MAX_STATE_BYTES_PER_USER} B", per_user_b <= MAX_STATE_BYTES_PER_USER)
            peaks: dict[str, int] = {}
            for run in runs.values():
                for role, mb in run.get("peak_rss_mb", {}).items():
                    peaks[role] = max(peaks.get(role, 0), mb)
            for role, mb in sorted(peaks.items()):
                add(f"peak RSS of the {role} process(es) <= {MAX_PEAK_RSS_MB} MB at the largest N", backend,
                    f"N={n}", f"{mb} MB", f"<= {MAX_PEAK_RSS_MB} MB", mb <= MAX_PEAK_RSS_MB if n == largest else None)
        if len(mine) > 1:
            small, large = mine[0], mine[-1]
            for scenario in SCENARIO_ORDER:
                if scenario in small["runs"] and scenario in large["runs"]:
                    before = small["runs"][scenario]["wall_s"] / small["n"]
                    after = large["runs"][scenario]["wall_s"] / large["n"]
                    growth = after / before
                    add(f"{scenario}: time per user grows <= {MAX_GROWTH:g}x", backend,
                        f"N={small['n']}->{large['n']}",
                        f"{growth:.2f}x ({before * 1000:.2f} -> {after * 1000:.2f} ms/user)",
                        f"<= {MAX_GROWTH:g}x", growth <= MAX_GROWTH)
        targets.extend(_peer_targets(results, backend, mine))
    targets.extend(_tool_targets(results))
    return targets


def _tool_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """pull: seconds at every N, reading only; drift: one list pass (pages of GET /users, nothing per user)."""
    page = int(results.get("meta", {}).get("list_page_size", 50))
    found: list[dict[str, Any]] = []
    for tool in results.get("tools", []):
        n, calls = tool["n"], tool.get("api_calls", {})
        other = {route: count for route, count in calls.items() if route != LIST_ROUTE}
        if tool["tool"] == "pull" and tool["case"] == "new file":
            found.append({"target": f"pull of N users into a new manifest <= {MAX_PULL_S:g} s, list calls only",
                          "backend": "-", "scope": f"N={n}", "value": f"{tool['wall_s']} s, {_calls(calls)}",
                          "limit": f"<= {MAX_PULL_S:g} s", "met": tool["wall_s"] <= MAX_PULL_S and not other})
        elif tool["tool"] == "drift":
            pages = -(-n // page)
            found.append({"target": "drift: one list pass, no call per user", "backend": tool.get("backend", "-"),
                          "scope": f"N={n}", "value": f"{tool['wall_s']} s, {_calls(calls)}",
                          "limit": f"{LIST_ROUTE} <= {pages + 1}, nothing else",
                          "met": calls.get(LIST_ROUTE, 0) <= pages + 1 and not other})
    return found


def _calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{route} {count}" for route, count in sorted(calls.items())) or "no API call"


def state_bytes_per_user(runs: dict[str, Any], scenario: str, n: int) -> Optional[float]:
    """The checkpoint bytes each of the ``n`` users adds after ``scenario``: its checkpoint less the
    empty stack's (the one destroy leaves; 0 when destroy did not run); None for destroy or no data."""
    size = runs.get(scenario, {}).get("state_bytes")
    if scenario == DESTROY or not size or n <= 0:
        return None
    return (size - runs.get(DESTROY, {}).get("state_bytes", 0)) / n


def _peer_targets(results: dict[str, Any], backend: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    peer = [entry for entry in results.get("peer", []) if entry["backend"] == backend]
    found: list[dict[str, Any]] = []
    for row in rows:
        n = row["n"]
        entries = {entry["parallelism"]: entry["runs"] for entry in peer if entry["n"] == n}
        reference = entries.get(PEER_DEFAULT_PARALLELISM)
        for ours, theirs in PEER_SCENARIOS.items():
            if ours not in row["runs"]:
                continue
            target = f"{ours}: no slower than OpenTofu -parallelism={PEER_DEFAULT_PARALLELISM} ({theirs})"
            if reference is None or not reference.get(theirs):
                found.append({"target": target, "backend": backend, "scope": f"N={n}",
                              "value": results.get("meta", {}).get("peer", "not measured"), "limit": "<= 1.00x",
                              "met": None})
                continue
            ratio = row["runs"][ours]["wall_s"] / reference[theirs]
            others = ", ".join(f"-parallelism={p}: {runs.get(theirs, '-')} s" for p, runs in sorted(entries.items())
                               if p != PEER_DEFAULT_PARALLELISM)
            found.append({"target": target, "backend": backend, "scope": f"N={n}",
                          "value": f"{ratio:.2f}x ({row['runs'][ours]['wall_s']} s vs {reference[theirs]} s"
                                   + (f"; {others}" if others else "") + ")",
                          "limit": "<= 1.00x", "met": ratio <= 1.0})
    return found
