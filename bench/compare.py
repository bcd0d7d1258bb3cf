"""Look-ups over a results dict: wall times, baselines and the ratios between them.

``results`` is what ``bench.suite.run_suite`` returns (and ``bench.json``
holds). Where a measurement was repeated, the fastest repeat stands for it.
"""

from __future__ import annotations

import math
from typing import Any

from bench import baseline
from bench.defaults import (
    ALLOY_STACK,
    CREATE,
    DEFAULT_SETTING,
    DESTROY,
    FLOOR_STACK,
    NOOP_SCENARIOS,
    PACED_FLOOR_STACK,
    REFRESH,
    UPDATE,
)

# The client operation that does a scenario's API work (refresh: the one list).
CLIENT_OPERATION = {CREATE: baseline.CREATE, UPDATE: baseline.UPDATE, REFRESH: baseline.LIST, DESTROY: baseline.DELETE}


class Results:
    """Indexed access to one benchmark's results."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.raw = results
        self.meta: dict[str, Any] = results["meta"]
        self._runs: dict[tuple[str, str, int, str], dict[str, Any]] = {}
        for run in results["runs"]:
            _keep_fastest(self._runs, (run["stack"], run["setting"], run["n"], run["scenario"]), run)
        self._baselines: dict[tuple[int, str], dict[str, Any]] = {}
        for entry in results["baselines"]:
            _keep_fastest(self._baselines, (entry["n"], entry["operation"]), entry)

    @property
    def sizes(self) -> list[int]:
        """The sizes of the main run, smallest first."""
        return sorted({n for (stack, _setting, n, _scenario) in self._runs if stack == FLOOR_STACK})

    @property
    def main_settings(self) -> list[str]:
        """The settings measured on both stacks, in run order."""
        return _unique(setting for (stack, setting, _n, _scenario) in self._runs if stack == FLOOR_STACK)

    @property
    def settings(self) -> list[str]:
        """Every setting measured on the real stack, in run order."""
        return _unique(setting for (stack, setting, _n, _scenario) in self._runs if stack == ALLOY_STACK)

    def run(self, stack: str, n: int, scenario: str, setting: str = DEFAULT_SETTING) -> dict[str, Any] | None:
        """The (fastest) measurement of ``scenario`` on ``stack`` at ``n``, or None."""
        return self._runs.get((stack, setting, n, scenario))

    def wall(self, stack: str, n: int, scenario: str, setting: str = DEFAULT_SETTING) -> float | None:
        """Its wall time in seconds, or None."""
        run = self.run(stack, n, scenario, setting)
        return None if run is None else float(run["wall_s"])

    def client(self, n: int, scenario: str) -> float | None:
        """Baseline (a): the client's time for the scenario's API work (None for no-op scenarios)."""
        operation = CLIENT_OPERATION.get(scenario)
        found = self._baselines.get((n, operation)) if operation else None
        return None if found is None else float(found["wall_s"])

    def baseline(self, n: int, operation: str) -> dict[str, Any] | None:
        """The (fastest) client baseline entry of ``operation`` at ``n``, or None."""
        return self._baselines.get((n, operation))

    def floor(self, n: int, scenario: str, setting: str = DEFAULT_SETTING) -> float | None:
        """Baseline (b): the engine floor's wall time for the scenario with the same setting."""
        return self.wall(FLOOR_STACK, n, scenario, setting)

    def paced_floor(self, n: int, scenario: str, setting: str = DEFAULT_SETTING) -> float | None:
        """The engine floor at the API's pace: the real stack's time if its provider cost nothing but the wait."""
        return self.wall(PACED_FLOOR_STACK, n, scenario, setting)

    def latency_floor(self, n: int, scenario: str) -> float:
        """The calls a scenario needs at least, times the latency, over the concurrency."""
        latency_s = float(self.meta["latency_ms"]) / 1000
        workers = int(self.meta["workers"])
        if scenario in NOOP_SCENARIOS:
            return 0.0
        if scenario == REFRESH:
            return latency_s
        if scenario == UPDATE:
            return math.ceil(max(1, math.ceil(n * float(self.meta["update_share"]))) / workers) * latency_s
        return math.ceil(n / workers) * latency_s

    def ratio_to_client(self, n: int, scenario: str, setting: str = DEFAULT_SETTING) -> float | None:
        return _ratio(self.wall(ALLOY_STACK, n, scenario, setting), self.client(n, scenario))

    def ratio_to_floor(self, n: int, scenario: str, setting: str = DEFAULT_SETTING) -> float | None:
        return _ratio(self.wall(ALLOY_STACK, n, scenario, setting), self.floor(n, scenario, setting))

    def ratio_to_paced_floor(self, n: int, scenario: str, setting: str = DEFAULT_SETTING) -> float | None:
        return _ratio(self.wall(ALLOY_STACK, n, scenario, setting), self.paced_floor(n, scenario, setting))

    def larger_baseline(self, n: int, scenario: str, setting: str = DEFAULT_SETTING) -> float | None:
        values = [v for v in (self.client(n, scenario), self.floor(n, scenario, setting)) if v is not None]
        return max(values) if values else None


def per_user_ms(wall_s: float | None, n: int) -> float | None:
    """Milliseconds per user of the stack."""
    return None if wall_s is None or n <= 0 else wall_s * 1000 / n


def _keep_fastest(index: dict[Any, dict[str, Any]], key: Any, entry: dict[str, Any]) -> None:
    if key not in index or entry["wall_s"] < index[key]["wall_s"]:
        index[key] = entry


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


def _ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference <= 0:
        return None
    return value / reference
