"""Fault injection: which requests get delayed, refused, or lose their response.

The configuration is one JSON object (``PUT /_emulator/faults`` replaces it as
a whole; keys left out take their defaults)::

    {
      "seed": null,                   # int: makes every random choice reproducible
      "routes": [],                   # selectors the faults apply to; [] = every public route.
                                      #   a route key ("POST /users", "GET /users/{userId}")
                                      #   or a bare method ("POST")
      "latency_ms": 0,                # added to every selected request ...
      "jitter_ms": 0,                 # ... plus uniform(0, jitter_ms)
      "rate_limit_rate": 0.0,         # share answered 429 with Retry-After
      "retry_after_s": 1,             # the Retry-After value (integer seconds)
      "error_rate": 0.0,              # share answered 5xx, status drawn evenly from error_statuses
      "error_statuses": [500, 502, 503],
      "error_rates": {},              # per-status shares on top of error_rate, e.g. {"503": 0.2}
      "drop_after_commit_rate": 0.0,  # share handled (writes committed), then the connection closed unanswered
      "slow_after_commit_rate": 0.0,  # share handled (writes committed), then answered after slow_s
      "slow_s": 15.0,
      "fail_next": [],                # scripted faults, consumed before any random draw (below)
      # API variants (emulator.variants): not faults, switches between what Alloy's docs say
      "case_insensitive_usernames": false,
      "immutable_usernames": "off",   # "off" | "ignore" | "reject"
      "page_size": 0,                 # 0 = GET /users not paged; 1..50
      "unauthorized_body": "empty"    # "empty" ({}) | "legacy" ({"message": "Unauthorized"})
    }

``PATCH /_emulator/faults`` merges instead: the keys given replace theirs, the
others keep their live values (``fail_next``: the entries not yet used).

The shares are disjoint slices of one draw, so their sum must be at most 1.
429/5xx faults answer *before* the handler runs (nothing is written), and
before the key is checked, as a gateway in front of Alloy would; the two
``*_after_commit`` faults act *after* the handler has committed.
Only the public ``/users`` routes are ever faulted, never ``/_emulator/``.

``fail_next`` entries: a status (``503`` or ``"503"``, any 400-599), a fault
name (``"drop_after_commit"``/``"drop"``, ``"slow_after_commit"``/``"slow"``),
or an object ``{"fault": 503, "route": "POST /users", "times": 2}``. For each
request the first entry whose route matches is consumed; an entry without
``route`` matches what ``routes`` selects.

Determinism: with a ``seed``, every selected request draws exactly two numbers
(jitter, outcome) in arrival order, whether or not a ``fail_next`` entry
answers it, so the same request sequence meets the same faults.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from emulator.defaults import DEFAULT_ERROR_STATUSES, DEFAULT_RETRY_AFTER_S, DEFAULT_SLOW_S
from emulator.routes import is_route_selector, selector_matches
from emulator.variants import ApiVariants, VariantError

DROP_AFTER_COMMIT = "drop_after_commit"
SLOW_AFTER_COMMIT = "slow_after_commit"
_FAULT_ALIASES = {"drop": DROP_AFTER_COMMIT, "slow": SLOW_AFTER_COMMIT}
_RATE_TOLERANCE = 1e-9

Outcome = int | str  # an HTTP status answered before the handler, or an after-commit fault name


class FaultConfigError(ValueError):
    """The fault configuration is invalid; the message says which key and why."""


@dataclass(frozen=True)
class FailNext:
    """One scripted fault: ``fault`` is a status or an after-commit fault name."""

    fault: Outcome
    route: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form, as ``GET /_emulator/faults`` shows it."""
        return {"fault": self.fault, "route": self.route}


@dataclass(frozen=True)
class FaultConfig:
    """A validated fault configuration (see the module docstring for the keys)."""

    seed: int | None = None
    routes: tuple[str, ...] = ()
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after_s: int = DEFAULT_RETRY_AFTER_S
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = DEFAULT_ERROR_STATUSES
    error_rates: Mapping[int, float] = field(default_factory=dict)
    drop_after_commit_rate: float = 0.0
    slow_after_commit_rate: float = 0.0
    slow_s: float = DEFAULT_SLOW_S
    fail_next: tuple[FailNext, ...] = ()
    variants: ApiVariants = field(default_factory=ApiVariants)

    @classmethod
    def from_json(cls, data: object) -> FaultConfig:
        """Validate a JSON object into a config. Raises FaultConfigError naming the bad key."""
        if not isinstance(data, dict):
            raise FaultConfigError("fault configuration must be a JSON object")
        known = {f.name for f in fields(cls) if f.name != "variants"} | set(ApiVariants.keys())
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultConfigError(f"unknown fault option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        kwargs: dict[str, Any] = {}
        if "seed" in data:
            kwargs["seed"] = _optional_int("seed", data["seed"])
        if "routes" in data:
            kwargs["routes"] = _selectors("routes", data["routes"])
        for name in ("latency_ms", "jitter_ms", "slow_s"):
            if name in data:
                kwargs[name] = _non_negative(name, data[name])
        for name in ("rate_limit_rate", "error_rate", "drop_after_commit_rate", "slow_after_commit_rate"):
            if name in data:
                kwargs[name] = _rate(name, data[name])
        if "retry_after_s" in data:
            kwargs["retry_after_s"] = _non_negative_int("retry_after_s", data["retry_after_s"])
        if "error_statuses" in data:
            kwargs["error_statuses"] = _statuses("error_statuses", data["error_statuses"])
        if "error_rates" in data:
            kwargs["error_rates"] = _error_rates(data["error_rates"])
        if "fail_next" in data:
            kwargs["fail_next"] = _fail_next(data["fail_next"])
        try:
            kwargs["variants"] = ApiVariants.from_json(data)
        except VariantError as exc:
            raise FaultConfigError(str(exc)) from None
        config = cls(**kwargs)
        total = sum(rate for rate, _ in config.outcome_slices())
        if total > 1 + _RATE_TOLERANCE:
            raise FaultConfigError(f"fault rates add up to {total:g}; their sum must be at most 1")
        return config

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form (``from_json(c.to_json()) == c``)."""
        return {
            "seed": self.seed,
            "routes": list(self.routes),
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "rate_limit_rate": self.rate_limit_rate,
            "retry_after_s": self.retry_after_s,
            "error_rate": self.error_rate,
            "error_statuses": list(self.error_statuses),
            "error_rates": {str(status): rate for status, rate in sorted(self.error_rates.items())},
            "drop_after_commit_rate": self.drop_after_commit_rate,
            "slow_after_commit_rate": self.slow_after_commit_rate,
            "slow_s": self.slow_s,
            "fail_next": [entry.to_json() for entry in self.fail_next],
            **self.variants.to_json(),
        }

    def outcome_slices(self) -> list[tuple[float, Outcome]]:
        """The disjoint slices of [0, 1) that one outcome draw falls into, in a fixed order."""
        slices: list[tuple[float, Outcome]] = [(self.rate_limit_rate, 429)]
        if self.error_rate:
            share = self.error_rate / len(self.error_statuses)
            slices += [(share, status) for status in self.error_statuses]
        slices += [(rate, status) for status, rate in sorted(self.error_rates.items())]
        slices += [(self.drop_after_commit_rate, DROP_AFTER_COMMIT), (self.slow_after_commit_rate, SLOW_AFTER_COMMIT)]
        return [(rate, outcome) for rate, outcome in slices if rate > 0]

    def selects(self, route: str) -> bool:
        """True when the random faults (and route-less fail_next entries) apply to ``route``."""
        return not self.routes or any(selector_matches(selector, route) for selector in self.routes)


@dataclass(frozen=True)
class Decision:
    """What to do with one request."""

    latency_s: float = 0.0
    status: int | None = None  # answer with this status instead of running the handler
    retry_after_s: int | None = None  # sent as Retry-After with a 429
    after_commit: str | None = None  # DROP_AFTER_COMMIT or SLOW_AFTER_COMMIT
    slow_s: float = 0.0
    origin: str | None = None  # "fail_next" or "random" when a fault applies

    @property
    def fault(self) -> str | None:
        """A short label for the request log: "503", "drop_after_commit", ... or None."""
        if self.status is not None:
            return str(self.status)
        return self.after_commit


NO_FAULT = Decision()


class FaultInjector:
    """Holds the live configuration, the seeded random stream and the fail_next queue.

    ``decide`` is called once per public request, in arrival order; it is
    synchronous and lock-protected, so decisions are atomic and ordered.
    """

    def __init__(self, config: FaultConfig | None = None) -> None:
        """Start with ``config`` (default: no faults)."""
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration; re-seeds the random stream and the fail_next queue."""
        with self._lock:
            self._config = config
            self._random = random.Random(config.seed)
            self._queue = list(config.fail_next)
            self._slices = config.outcome_slices()

    @property
    def config(self) -> FaultConfig:
        """The configuration last set (its fail_next is the original list)."""
        return self._config

    @property
    def variants(self) -> ApiVariants:
        """The live API variants."""
        return self._config.variants

    def merge(self, changes: Mapping[str, Any]) -> FaultConfig:
        """Validate ``changes`` on top of the live configuration and apply it (PATCH).

        Raises FaultConfigError and keeps the old configuration when invalid.
        """
        with self._lock:
            current = self._config.to_json()
            current["fail_next"] = [entry.to_json() for entry in self._queue]
        config = FaultConfig.from_json({**current, **changes})
        self.configure(config)
        return config

    def snapshot(self) -> dict[str, Any]:
        """The configuration as JSON, with ``fail_next`` showing only the entries not yet used."""
        with self._lock:
            data = self._config.to_json()
            data["fail_next"] = [entry.to_json() for entry in self._queue]
        return data

    def decide(self, route: str | None) -> Decision:
        """Choose the fault for one request to ``route`` (None: not a public route, never faulted)."""
        if route is None:
            return NO_FAULT
        with self._lock:
            config = self._config
            selected = config.selects(route)
            scripted = self._take_scripted(route, selected)
            if not selected:
                return NO_FAULT if scripted is None else self._outcome(scripted, 0.0, "fail_next")
            jitter_draw = self._random.random()
            outcome_draw = self._random.random()
            latency_s = (config.latency_ms + jitter_draw * config.jitter_ms) / 1000.0
            if scripted is not None:
                return self._outcome(scripted, latency_s, "fail_next")
            edge = 0.0
            for rate, outcome in self._slices:
                edge += rate
                if outcome_draw < edge:
                    return self._outcome(outcome, latency_s, "random")
            return Decision(latency_s=latency_s)

    def _take_scripted(self, route: str, selected: bool) -> Outcome | None:
        for index, entry in enumerate(self._queue):
            matches = selected if entry.route is None else selector_matches(entry.route, route)
            if matches:
                del self._queue[index]
                return entry.fault
        return None

    def _outcome(self, outcome: Outcome, latency_s: float, origin: str) -> Decision:
        config = self._config
        if isinstance(outcome, int):
            retry_after = config.retry_after_s if outcome == 429 else None
            return Decision(latency_s=latency_s, status=outcome, retry_after_s=retry_after, origin=origin)
        slow_s = config.slow_s if outcome == SLOW_AFTER_COMMIT else 0.0
        return Decision(latency_s=latency_s, after_commit=outcome, slow_s=slow_s, origin=origin)


# --- validation helpers -------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _non_negative(name: str, value: object) -> float:
    if not _is_number(value) or not 0 <= value < float("inf"):  # type: ignore[operator]
        raise FaultConfigError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _rate(name: str, value: object) -> float:
    if not _is_number(value) or not 0 <= value <= 1:  # type: ignore[operator]
        raise FaultConfigError(f"{name} must be a number between 0 and 1, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _non_negative_int(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FaultConfigError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _optional_int(name: str, value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise FaultConfigError(f"{name} must be an integer or null, got {value!r}")
    return value


def _selector(name: str, value: object) -> str:
    if not isinstance(value, str) or not is_route_selector(value):
        raise FaultConfigError(
            f'{name}: {value!r} is not a route ("POST /users", "GET /users/{{userId}}", ...) or a method ("POST")'
        )
    return value


def _selectors(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise FaultConfigError(f"{name} must be a list of routes or methods")
    return tuple(_selector(name, item) for item in value)


def _status(name: str, value: object) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 400 <= value <= 599:
        raise FaultConfigError(f"{name}: {value!r} is not an HTTP error status (400-599)")
    return value


def _statuses(name: str, value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise FaultConfigError(f"{name} must be a non-empty list of HTTP statuses")
    return tuple(_status(name, item) for item in value)


def _error_rates(value: object) -> dict[int, float]:
    if not isinstance(value, dict):
        raise FaultConfigError('error_rates must be an object like {"503": 0.2}')
    rates: dict[int, float] = {}
    for status, rate in value.items():
        code = _status("error_rates", status)
        rates[code] = rates.get(code, 0.0) + _rate(f"error_rates[{status}]", rate)
    return rates


def _fault_name(value: object) -> Outcome:
    if isinstance(value, str):
        canonical = _FAULT_ALIASES.get(value, value)
        if canonical in (DROP_AFTER_COMMIT, SLOW_AFTER_COMMIT):
            return canonical
    try:
        return _status("fail_next", value)
    except FaultConfigError:
        raise FaultConfigError(
            f"fail_next: {value!r} is not a fault; use a status 400-599, {DROP_AFTER_COMMIT!r} or {SLOW_AFTER_COMMIT!r}"
        ) from None


def _fail_next(value: object) -> tuple[FailNext, ...]:
    if not isinstance(value, list):
        raise FaultConfigError("fail_next must be a list")
    entries: list[FailNext] = []
    for item in value:
        if isinstance(item, dict):
            unknown = sorted(set(item) - {"fault", "route", "times"})
            if unknown or "fault" not in item:
                raise FaultConfigError('fail_next objects take "fault" (required), "route" and "times"')
            route = None if item.get("route") is None else _selector("fail_next.route", item["route"])
            times = _non_negative_int("fail_next.times", item.get("times", 1))
            entries += [FailNext(_fault_name(item["fault"]), route)] * times
        else:
            entries.append(FailNext(_fault_name(item)))
    return tuple(entries)
