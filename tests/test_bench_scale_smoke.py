"""``make bench`` (``python -m bench.scale``) keeps working: a short run at
N=3 without added latency, on the file and the S3-compatible (moto) backend,
runs every scenario through the real CLI, checks its own API counts, and
writes its three result files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.scale import BACKENDS, SCENARIOS

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
N = 3
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def scale_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    """One short scale run for the module: its results folder, JSON and printed summary."""
    root = tmp_path_factory.mktemp("scale")
    out = root / "results"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PULUMI_", "ALLOY_", "AWS_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--sizes", str(N), "--latency-ms", "0", "--out", str(out),
         "--work-dir", str(root)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out, json.loads((out / "scale.json").read_text(encoding="utf-8")), result.stdout


def test_result_files_are_written(scale_run):
    out, _, summary = scale_run
    assert (out / "scale.png").read_bytes().startswith(PNG_SIGNATURE)
    markdown = (out / "scale.md").read_text(encoding="utf-8")
    assert "| target |" in markdown and "| backend | N | scenario |" in markdown
    assert "targets met" in summary


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_scenario_ran_on_each_backend(scale_run, backend):
    _, results, _ = scale_run
    (row,) = [row for row in results["rows"] if row["backend"] == backend and row["n"] == N]
    assert set(row["runs"]) == set(SCENARIOS)
    assert row["client"]["create"] > 0 and row["client"]["destroy"] > 0
    for name, measured in row["runs"].items():
        assert measured["wall_s"] > 0, name
        assert measured["peak_rss_mb"].get("cli", 0) > 0, name


@pytest.mark.parametrize(("scenario", "route", "count"), [
    ("create", "POST /users", N),
    ("adopt", "POST /users", 0),
    ("update", "PUT /users/{userId}", 1),  # 1% of 3 users rounds up to one
    ("destroy", "DELETE /users/{userId}", N),
    ("noop-preview", "POST /users", 0),
], ids=["create-posts-each", "adopt-posts-none", "update-puts-share", "destroy-deletes-each", "preview-writes-none"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_api_calls_match_the_work(scale_run, backend, scenario, route, count):
    _, results, _ = scale_run
    (row,) = [row for row in results["rows"] if row["backend"] == backend]
    assert row["runs"][scenario]["api_calls"].get(route, 0) == count


@pytest.mark.parametrize("backend", BACKENDS)
def test_state_is_measured_on_each_backend(scale_run, backend):
    _, results, _ = scale_run
    (row,) = [row for row in results["rows"] if row["backend"] == backend]
    assert row["runs"]["create"]["state_bytes"] > row["runs"]["destroy"]["state_bytes"] > 0
    assert [t for t in results["targets"] if t["target"].startswith("state") and t["backend"] == backend]


def test_read_only_tools_are_measured(scale_run):
    _, results, _ = scale_run
    pulls = [tool for tool in results["tools"] if tool["tool"] == "pull"]
    drifts = {tool["backend"] for tool in results["tools"] if tool["tool"] == "drift"}
    assert {tool["case"] for tool in pulls} >= {"new file"}
    assert drifts == set(BACKENDS)
    assert all(set(tool["api_calls"]) <= {"GET /users"} for tool in results["tools"])


def test_targets_are_reevaluated_from_json(scale_run, tmp_path):
    out, results, _ = scale_run
    again = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--from-json", str(out / "scale.json"), "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert again.returncode == 0, again.stderr
    rewritten = json.loads((tmp_path / "scale.json").read_text(encoding="utf-8"))
    assert rewritten["targets"] == results["targets"]
