"""Everything the routes share: the store, faults, log, counters and settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.defaults import MAX_BODY_BYTES
from emulator.faults import FaultConfig, FaultInjector
from emulator.requestlog import Counters, RequestLog
from emulator.store import UserStore


@dataclass
class EmulatorState:
    """The live state of one emulator."""

    store: UserStore
    api_keys: tuple[str, ...]
    faults: FaultInjector = field(default_factory=FaultInjector)
    log: RequestLog = field(default_factory=RequestLog)
    counters: Counters = field(default_factory=Counters)
    max_body_bytes: int = MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if not self.api_keys:
            raise ValueError("at least one API key is required")

    def reset(self) -> None:
        """Wipe users, the request log, the counters and the faults (back to none)."""
        self.store.clear()
        self.log.clear()
        self.counters.clear()
        self.faults.configure(FaultConfig())
