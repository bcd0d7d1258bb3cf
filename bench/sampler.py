"""Peak memory (RSS) and CPU time of a pulumi run, by process role.

A background thread walks the process tree of the CLI every
``SAMPLE_INTERVAL_S`` with psutil. Each process gets a role from its command
line: the CLI (the ``pulumi`` binary), the language host, the Python program,
the dynamic provider (``python -m pulumi.dynamic``), the wrapper (a root that
is not the CLI: ``python -m review apply``, which starts the CLI) or other
(the plugin's shell wrapper).
A role's peak is the largest sum of the RSS of its processes in one sample;
its CPU time is the last user+system time seen of each of its processes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import psutil

from bench.defaults import SAMPLE_INTERVAL_S

CLI = "cli"
LANGUAGE_HOST = "language-host"
PROGRAM = "program"
PROVIDER = "provider"
WRAPPER = "wrapper"
OTHER = "other"
ROLES = (CLI, LANGUAGE_HOST, PROGRAM, PROVIDER, WRAPPER, OTHER)


def role_of(cmdline: list[str], is_root: bool) -> str:
    """The role of a process of the tree, from its command line."""
    if cmdline and cmdline[0].rsplit("/", 1)[-1] == "pulumi":
        return CLI
    if is_root:
        return WRAPPER
    if "pulumi.dynamic" in cmdline:
        return PROVIDER
    if any(part.endswith("pulumi-language-python-exec") for part in cmdline):
        return PROGRAM
    if cmdline and cmdline[0].endswith("pulumi-language-python"):
        return LANGUAGE_HOST
    return OTHER


@dataclass
class TreeUsage:
    """What the sampler saw: bytes and seconds per role, and how many samples."""

    peak_rss_bytes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    cpu_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROLES, 0.0))
    samples: int = 0


class TreeSampler:
    """Samples the tree rooted at ``pid`` from ``start()`` until ``stop()``."""

    def __init__(self, pid: int, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self._root = psutil.Process(pid)
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"bench-sampler-{pid}", daemon=True)
        self._roles: dict[int, str] = {}
        self._cpu: dict[int, float] = {}
        self.usage = TreeUsage()

    def start(self) -> TreeSampler:
        """Begin sampling in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> TreeUsage:
        """Stop sampling and return the totals."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        for pid, seconds in self._cpu.items():
            self.usage.cpu_s[self._roles[pid]] += seconds
        return self.usage

    def _loop(self) -> None:
        while True:
            self._sample()
            if self._stopped.wait(self._interval_s):
                return

    def _sample(self) -> None:
        try:
            processes = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return
        rss = dict.fromkeys(ROLES, 0)
        for process in processes:
            try:
                with process.oneshot():
                    role = self._roles.get(process.pid)
                    if role is None:
                        role = role_of(process.cmdline(), process.pid == self._root.pid)
                        self._roles[process.pid] = role
                    rss[role] += process.memory_info().rss
                    times = process.cpu_times()
                    self._cpu[process.pid] = times.user + times.system
            except psutil.Error:
                continue  # exited between the listing and the reading
        for role, total in rss.items():
            self.usage.peak_rss_bytes[role] = max(self.usage.peak_rss_bytes[role], total)
        self.usage.samples += 1
