"""The read-only tools beside the stack scenarios: ``pull`` (write the
account's users into a manifest) and ``drift`` (compare a stack with the
account).

- ``pull``: an emulator holding ``n`` users, ``GET /users`` paged at
  ``page_size``, the fixed latency on every request. Three cases: a new
  file, the same pull again (nothing to add: the file is left as it is), and
  a merge of 1% more users into the existing file (which formats it twice:
  the existing file, then the merged one). The toolkit's own costs on the
  written file are measured in-process too: ``parse`` (``parse_manifest``,
  what ``check`` does) and ``fmt`` (``format_manifest``, what ``fmt
  --check`` does).
- ``drift``: ``python -m review drift`` on a stack of the lifecycle right
  after its refresh (so the account matches: exit 0), to compare with the
  refresh's time (both are one list pass).

Each result is a dict: ``tool``, ``case``, ``n``, ``wall_s``, ``api_calls``
(by route), ``exit_status``, and extra figures per tool.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.defaults import REPO, RUN_TIMEOUT_S, STACK_NAME
from bench.workload import BenchUser, make_users
from emulator.testing import EmulatorProcess

PULL = "pull"
DRIFT = "drift"
PULL_NEW = "new file"
PULL_AGAIN = "again, nothing to add"
PULL_MERGE = "merge of 1% more"
MERGE_SHARE = 0.01
SEED_WORKERS = 8
Log = Callable[[str], None]


def seed_users(emulator: EmulatorProcess, users: list[BenchUser]) -> None:
    """Create ``users`` through the admin API (no latency, not logged), a few at a time."""
    url = f"{emulator.url}/_emulator/users"

    def seed(chunk: list[BenchUser]) -> None:
        with requests.Session() as session:
            for user in chunk:
                response = session.post(url, json={"username": user.username, "fullName": user.full_name}, timeout=30)
                response.raise_for_status()

    chunks = [users[index::SEED_WORKERS] for index in range(SEED_WORKERS)]
    with ThreadPoolExecutor(SEED_WORKERS) as pool:
        list(pool.map(seed, chunks))


def run_pull_bench(
    emulator: EmulatorProcess,
    n: int,
    latency_ms: float,
    page_size: int,
    *,
    work_dir: Path | None = None,
    log: Log = print,
) -> list[dict[str, Any]]:
    """The three pull cases at ``n`` users; returns their results."""
    from providers.manifest.fmt import format_manifest
    from providers.manifest.loader import parse_manifest

    emulator.admin.reset()
    users = make_users(n)
    started = time.perf_counter()
    seed_users(emulator, users)
    log(f"  pull: seeded {n} users in {time.perf_counter() - started:.1f} s")
    emulator.admin.set_faults(latency_ms=latency_ms, page_size=page_size)
    results = []
    with tempfile.TemporaryDirectory(prefix="alloy-bench-pull-", dir=work_dir) as folder:
        output = Path(folder) / "users.yaml"
        for case in (PULL_NEW, PULL_AGAIN, PULL_MERGE):
            if case == PULL_MERGE:
                extra = [BenchUser(f"bench-extra-{index:05d}@example.com", f"Extra {index:05d}")
                         for index in range(max(1, int(n * MERGE_SHARE)))]
                seed_users(emulator, extra)
            result = _timed_tool(
                emulator, [sys.executable, "-m", "providers.manifest", "pull", "--base-url", emulator.url,
                           "--output", str(output)],
            )
            result.update(tool=PULL, case=case, n=n, page_size=page_size, latency_ms=latency_ms)
            if case == PULL_NEW:
                text = output.read_text(encoding="utf-8")
                result["manifest_bytes"] = len(text.encode("utf-8"))
                result["parse_s"] = round(_seconds(lambda: parse_manifest(text, str(output))), 3)
                result["fmt_s"] = round(_seconds(lambda: format_manifest(text, str(output))), 3)
            results.append(result)
            log(f"  pull N={n:<6} {case:<24} {result['wall_s']:8.2f} s  {_calls(result['api_calls'])}"
                + (f"  (parse {result['parse_s']:.2f} s, fmt {result['fmt_s']:.2f} s of the written file)"
                   if "fmt_s" in result else ""))
    return results


def run_drift(
    emulator: EmulatorProcess, work: Path, env: Mapping[str, str], n: int, *, log: Log = print
) -> dict[str, Any]:
    """``python -m review drift`` on the stack in ``work`` (its environment ``env``)."""
    command = [sys.executable, "-m", "review", "drift", "--stack", STACK_NAME, "--cwd", str(work)]
    result = _timed_tool(emulator, command, env={**env, "ALLOY_API_KEY": emulator.api_key})
    result.update(tool=DRIFT, case="no drift", n=n)
    log(f"  drift N={n:<5} {result['wall_s']:8.2f} s  {_calls(result['api_calls'])}  exit {result['exit_status']}")
    return result


def _timed_tool(
    emulator: EmulatorProcess, command: list[str], env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    emulator.admin.clear_requests()
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full_env.get("PYTHONPATH")]))
    if env is None:
        full_env["ALLOY_API_KEY"] = emulator.api_key
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    wall_s = time.perf_counter() - started
    if completed.returncode not in (0, 4):
        raise RuntimeError(f"{' '.join(command[1:4])} exited {completed.returncode}:\n{completed.stderr[-4000:]}")
    return {
        "wall_s": round(wall_s, 3),
        "api_calls": {route: count for route, count in emulator.admin.counters().items() if count},
        "exit_status": completed.returncode,
    }


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _calls(routes: Mapping[str, int]) -> str:
    return ", ".join(f"{route} {count}" for route, count in sorted(routes.items()) if count) or "0 API calls"
