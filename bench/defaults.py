"""Named defaults of the benchmark and the targets it evaluates, in one place."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
FLOOR_PROJECT_DIR = BENCH_DIR / "floor"
PROFILE_HOOK_DIR = BENCH_DIR / "profile_hook"
DEFAULT_RESULTS_DIR = BENCH_DIR / "results"

DEFAULT_SIZES = (100, 1000)
# Each measurement is repeated this many times and the fastest kept.
DEFAULT_REPEAT = 1
# Added by the emulator to every API request (a fixed latency, no jitter).
DEFAULT_LATENCY_MS = 20.0
# The dynamic provider serves at most 4 calls at once (ThreadPoolExecutor(max_workers=4)
# in pulumi/dynamic/__main__.py), so the client baseline uses as many workers.
PROVIDER_CONCURRENCY = 4
# Share of the users whose fullName the update scenario changes.
UPDATE_SHARE = 0.10
# How often the process tree of a pulumi run is sampled (RSS, CPU).
SAMPLE_INTERVAL_S = 0.05
# A single pulumi command of the benchmark is abandoned after this long.
RUN_TIMEOUT_S = 3600.0
STACK_NAME = "bench"

# Scenarios, in the order they run on one stack.
CREATE = "create"
NOOP_PREVIEW = "noop-preview"
NOOP_UP = "noop-up"
REFRESH = "refresh"
UPDATE = "update"
DESTROY = "destroy"
SCENARIOS = (CREATE, NOOP_PREVIEW, NOOP_UP, REFRESH, UPDATE, DESTROY)
NOOP_SCENARIOS = (NOOP_PREVIEW, NOOP_UP)
LIFECYCLE_SCENARIOS = (CREATE, UPDATE, REFRESH, DESTROY)

# The stacks measured at every size: the real one, the engine floor (a
# do-nothing provider), and the engine floor at the API's pace (the same
# provider sleeping, where the real one calls the API, as long as a call took
# the client), which isolates what the real provider costs on top.
ALLOY_STACK = "alloy"
# The `name` of Pulumi.yaml: the folder of the checkpoints in a DIY backend.
PROJECT_NAME = "alloy"
FLOOR_STACK = "engine-floor"
PACED_FLOOR_STACK = "paced-floor"
STACKS = (ALLOY_STACK, FLOOR_STACK, PACED_FLOOR_STACK)
FLOOR_STACKS = (FLOOR_STACK, PACED_FLOOR_STACK)
# Read by bench/floor/floor_provider.py (which cannot import bench).
FLOOR_LATENCY_ENV = "BENCH_FLOOR_LATENCY_MS"

# CLI settings compared: name -> (extra environment, extra CLI args).
DEFAULT_SETTING = "default"
SKIP_CHECKPOINTS = "skip-checkpoints"
SETTINGS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    DEFAULT_SETTING: ({}, ()),
    SKIP_CHECKPOINTS: ({"PULUMI_SKIP_CHECKPOINTS": "true"}, ()),
    "parallel-4": ({}, ("--parallel", "4")),
    "parallel-16": ({}, ("--parallel", "16")),
    "no-integrity-check": ({}, ("--disable-integrity-checking",)),
    "gzip-state": ({"PULUMI_DIY_BACKEND_GZIP": "true"}, ()),
}
# Every scenario, on every stack, at every size.
MAIN_SETTINGS = (DEFAULT_SETTING, SKIP_CHECKPOINTS)
# Checkpoint study: the write scenarios on the real stack at one size.
STUDY_SETTINGS = ("parallel-4", "parallel-16", "no-integrity-check", "gzip-state")
STUDY_SCENARIOS = (CREATE, UPDATE, DESTROY)

# The read-only tools (bench.tools): pull of PULL_SIZE users from an emulator
# paging GET /users at PULL_PAGE_SIZE; drift on every lifecycle's real stack
# (default setting) right after its refresh.
DEFAULT_PULL_SIZE = 10_000
DEFAULT_PULL_PAGE_SIZE = 50
# "Seconds, not minutes", and drift costs about what a refresh does.
PULL_MAX_S = 60.0
DRIFT_MAX_RATIO_TO_REFRESH = 2.0

# Targets (issue 7).
NOOP_MAX_API_CALLS = 0
NOOP_MAX_RATIO_TO_FLOOR = 1.2
LIFECYCLE_MAX_RATIO_TO_BASELINE = 1.5
SCALING_MAX_RATIO = 1.3
REFRESH_LIST_CALLS = 1
STATE_MAX_BYTES_PER_USER = 1536

# Profiling pass (``--profile``): the hook's switch and the scenarios profiled.
PROFILE_ENV = "BENCH_PROFILE_DIR"
PROFILE_SCENARIOS = (CREATE, NOOP_PREVIEW, DESTROY)
PROFILE_TOP = 25
