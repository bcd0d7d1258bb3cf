"""End-to-end ``python -m review drift`` with the real CLI: each kind of
drift made directly in the emulator is found (exit 4), a clean account exits
0, and the check changes neither Alloy nor the state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.manifests import numbered_users

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
PAGE_SIZE = 50

MANIFEST = """\
users:
  - username: ada@example.com
    fullName: Ada Lovelace
  - username: grace@example.com
    fullName: Grace Hopper
  - username: linus@example.com
    fullName: Linus Torvalds
  - username: ken@example.com
    fullName: Ken Thompson
  - username: nameless@example.com
"""


def drift(stack, *args: str, key: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(stack.env)
    if key is not None:
        env["ALLOY_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "review", "drift", "--stack", stack.stack, "--cwd", str(stack.work), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )


def ids(emulator) -> dict[str, str]:
    return {user["username"]: user["userId"] for user in emulator.users()}


def test_a_clean_account_has_no_drift(project, emulator):
    stack = project(MANIFEST)
    stack.up()
    emulator.reset_log()
    result = drift(stack, key=emulator.api_key)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!-- alloy-users-drift stack=test -->\n")
    assert "**No drift.**" in result.stdout
    assert "5 of the stack's 5 users match Alloy; the account has 5 users." in result.stdout
    assert [r["route"] for r in emulator.requests()] == ["GET /users"]


def test_every_kind_of_drift_is_found_without_changing_anything(project, emulator, tmp_path):
    stack = project(MANIFEST)
    stack.up()
    users = ids(emulator)
    api = {"headers": emulator.headers(), "timeout": 10}
    requests.delete(emulator.users_url(users["ken@example.com"]), **api).raise_for_status()
    requests.put(emulator.users_url(users["ada@example.com"]), json={"fullName": "Augusta Ada King"}, **api).raise_for_status()
    requests.put(emulator.users_url(users["linus@example.com"]), json={"username": "torvalds@example.com"}, **api).raise_for_status()
    # Not drift: the manifest does not manage this user's fullName.
    requests.put(emulator.users_url(users["nameless@example.com"]), json={"fullName": "Some Name"}, **api).raise_for_status()
    requests.post(emulator.users_url(), json={"username": "eve@example.com", "fullName": "Eve `<b>`"}, **api).raise_for_status()
    emulator.admin.seed_user(None, "Listed without a username")
    # Declared in the manifest, in Alloy, not applied yet: planned, not drift.
    emulator.admin.seed_user("margaret@example.com", "Margaret Hamilton")
    stack.write_manifest(MANIFEST + "  - username: margaret@example.com\n")
    emulator.admin.set_faults(page_size=PAGE_SIZE)
    state_before = stack.export_state()["deployment"]["resources"]
    emulator.reset_log()

    output = tmp_path / "drift.md"
    result = drift(stack, "--output", str(output), key=emulator.api_key)

    assert result.returncode == 4, result.stderr
    assert result.stdout == ""
    report = output.read_text()
    assert report.startswith("<!-- alloy-users-drift stack=test -->\n### Alloy users drift for stack `test`\n")
    assert (
        "**Drift: 1 deleted outside Pulumi, 1 renamed outside Pulumi, 1 fullName changed outside Pulumi, "
        "2 unmanaged.**" in report
    )
    assert f"| `deleted` | `ken@example.com` | `{users['ken@example.com']}` | in the stack, gone from Alloy |" in report
    assert "| `renamed` | `linus@example.com` |" in report and "Alloy has `torvalds@example.com`" in report
    assert '`"Ada Lovelace"` in the stack, `"Augusta Ada King"` in Alloy' in report
    assert "| `unmanaged` | ``eve@example.com`` |" not in report  # shown literally, not doubled
    assert "| `unmanaged` | `eve@example.com` |" in report and '``"Eve `<b>`"``' in report
    assert "| `unmanaged` | (no username) |" in report
    assert "nameless@example.com" not in report
    assert "the next `pulumi up` adopts them: `margaret@example.com`." in report
    assert "drift of stack test: Drift:" in result.stderr
    # Read-only: one list pass (followed page by page), no write, the state as it was.
    assert {r["route"] for r in emulator.requests()} == {"GET /users"}
    assert len(emulator.requests()) == 1  # 7 users: one page
    assert stack.export_state()["deployment"]["resources"] == state_before

    again = drift(stack, "--output", str(tmp_path / "again.md"), key=emulator.api_key)
    assert again.returncode == 4
    assert (tmp_path / "again.md").read_text() == report, "the same drift must give the same report"


def test_drift_reads_every_page(project, emulator):
    stack = project(numbered_users(120))
    stack.up()
    emulator.admin.set_faults(page_size=PAGE_SIZE)
    emulator.reset_log()
    result = drift(stack, key=emulator.api_key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "120 of the stack's 120 users match Alloy" in result.stdout
    assert [r["route"] for r in emulator.requests()] == ["GET /users"] * 3


@pytest.mark.parametrize(
    ("key", "message"),
    [
        pytest.param(None, "ALLOY_API_KEY", id="no-key"),
        pytest.param("wrong-key", "401", id="wrong-key"),
    ],
)
def test_a_check_that_cannot_be_made_exits_1_without_a_report(project, emulator, tmp_path, key, message):
    stack = project(MANIFEST)
    stack.up()
    output = tmp_path / "drift.md"
    result = drift(stack, "--output", str(output), key=key)
    assert result.returncode == 1
    assert message in result.stderr and "wrong-key" not in result.stderr
    assert not output.exists()


def test_an_unknown_stack_exits_1(project, emulator):
    stack = project(MANIFEST)
    env = dict(stack.env, ALLOY_API_KEY=emulator.api_key)
    result = subprocess.run(
        [sys.executable, "-m", "review", "drift", "--stack", "no-such-stack", "--cwd", str(stack.work)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1
    assert "no-such-stack" in result.stderr


def test_a_usage_error_exits_2():
    result = subprocess.run([sys.executable, "-m", "review", "drift"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2
