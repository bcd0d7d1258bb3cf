"""``make bench`` keeps working: a seconds-long run (N=5, no added latency, the
default setting, one checkpoint-study setting) writes its three result files
with the expected shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.defaults import ALLOY_STACK, FLOOR_STACKS, SCENARIOS, STACKS, STUDY_SCENARIOS
from bench.report import JSON_NAME, MARKDOWN_NAME, PLOT_NAME

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
N = 5
# Past one page of 50 (the client asks for 50 a page whatever the emulator's default).
PULL_N = 60
PULL_PAGE_SIZE = 50
STUDY_SETTING = "skip-checkpoints"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_TIMEOUT_S = 300
# The floor's checkpoint may differ from the real one by the providers' module
# paths (pickled in every resource, the guard's too) and ids only: at the
# smoke test's 5 users that is about 5%, less per user as N grows.
STATE_SHAPE_TOLERANCE = 0.07


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One ``python -m bench`` run for the whole module; its results folder and JSON."""
    root = tmp_path_factory.mktemp("bench")
    out = root / "results"
    # Module scope runs before the per-test environment isolation: strip here too.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PULUMI_", "ALLOY_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", str(N), "--latency-ms", "0",
         "--settings", "default", "--study-settings", STUDY_SETTING, "--out", str(out), "--work-dir", str(root),
         "--pull-size", str(PULL_N), "--pull-page-size", str(PULL_PAGE_SIZE)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out, json.loads((out / JSON_NAME).read_text(encoding="utf-8"))


def run_of(results: dict[str, Any], stack: str, scenario: str, setting: str = "default") -> dict[str, Any]:
    wanted = (stack, scenario, setting, N)
    matches = [r for r in results["runs"] if (r["stack"], r["scenario"], r["setting"], r["n"]) == wanted]
    assert len(matches) == 1, f"{stack} {scenario} {setting}: {len(matches)} runs"
    return matches[0]


def test_result_files_are_written(bench_run):
    out, _ = bench_run
    assert (out / PLOT_NAME).read_bytes().startswith(PNG_SIGNATURE)
    markdown = (out / MARKDOWN_NAME).read_text(encoding="utf-8")
    for heading in ("## Scenarios", "## Client baseline", "## Checkpoint study", "## Read-only tools", "## Targets"):
        assert heading in markdown


def test_no_stack_or_emulator_is_left_behind(bench_run):
    out, _ = bench_run
    assert sorted(path.name for path in out.parent.iterdir()) == ["results"]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_is_measured(bench_run, stack, scenario):
    _, results = bench_run
    run = run_of(results, stack, scenario)
    assert run["wall_s"] > 0
    assert run["peak_rss_mb"]["cli"] > 0
    assert run["peak_rss_mb"]["provider"] > 0, "the sampler did not find python -m pulumi.dynamic"
    assert run["cpu_s"]["cli"] > 0
    if scenario != "destroy":
        assert run["state_bytes"] > 0


@pytest.mark.parametrize(
    ("scenario", "calls"),
    [
        # One listing of the account (adoption without a POST), then one POST per user.
        pytest.param("create", {"GET": 1, "POST": N}, id="create-lists-once-and-posts-each-user"),
        pytest.param("noop-preview", {}, id="noop-preview-calls-nothing"),
        pytest.param("noop-up", {}, id="noop-up-calls-nothing"),
        pytest.param("refresh", {"GET": 1}, id="refresh-lists-once"),
        pytest.param("update", {"PUT": 1}, id="update-puts-the-changed-user"),
        pytest.param("destroy", {"DELETE": N}, id="destroy-deletes-each-user"),
    ],
)
def test_api_calls_are_counted_by_method(bench_run, scenario, calls):
    _, results = bench_run
    made = {
        stack: {method: count for method, count in run_of(results, stack, scenario)["api_calls"].items() if count}
        for stack in STACKS
    }
    assert made == {ALLOY_STACK: calls, **{floor: {} for floor in FLOOR_STACKS}}


@pytest.mark.parametrize("floor", FLOOR_STACKS)
def test_engine_floor_writes_the_same_state_shape(bench_run, floor):
    _, results = bench_run
    real, floored = (run_of(results, stack, "create")["state_bytes"] for stack in (ALLOY_STACK, floor))
    assert abs(floored - real) <= STATE_SHAPE_TOLERANCE * real, (real, floored)


@pytest.mark.parametrize("scenario", STUDY_SCENARIOS)
def test_checkpoint_study_setting_is_measured(bench_run, scenario):
    _, results = bench_run
    assert run_of(results, ALLOY_STACK, scenario, STUDY_SETTING)["wall_s"] > 0


def test_baselines_and_targets_have_their_shape(bench_run):
    _, results = bench_run
    assert {(b["n"], b["operation"]) for b in results["baselines"]} == {
        (N, operation) for operation in ("create", "read", "list", "update", "delete")
    }
    assert results["meta"]["sizes"] == [N] and results["meta"]["latency_ms"] == 0
    assert results["targets"]
    for row in results["targets"]:
        assert set(row) == {"target", "setting", "scope", "value", "limit", "met"}
        assert row["met"] in (True, False, None)


def tool_runs(results: dict[str, Any], tool: str) -> list[dict[str, Any]]:
    return [entry for entry in results["tools"] if entry["tool"] == tool]


def test_pull_is_measured_in_each_case(bench_run):
    _, results = bench_run
    runs = tool_runs(results, "pull")
    assert [entry["case"] for entry in runs] == ["new file", "again, nothing to add", "merge of 1% more"]
    pages = -(-PULL_N // PULL_PAGE_SIZE)
    for entry in runs:
        assert entry["n"] == PULL_N and entry["wall_s"] > 0 and entry["exit_status"] == 0
        assert set(entry["api_calls"]) == {"GET /users"}
    assert runs[0]["api_calls"]["GET /users"] == pages
    assert runs[0]["fmt_s"] > 0 and runs[0]["parse_s"] > 0 and runs[0]["manifest_bytes"] > 0


def test_drift_is_measured_after_the_refresh(bench_run):
    _, results = bench_run
    [entry] = tool_runs(results, "drift")
    assert entry["n"] == N and entry["exit_status"] == 0 and entry["wall_s"] > 0
    assert entry["api_calls"] == {"GET /users": 1}
    assert entry["refresh_wall_s"] == run_of(results, ALLOY_STACK, "refresh")["wall_s"]
