"""``review.drift``: reading the state, comparing it with Alloy's list, the
Markdown report and the exit codes (no Pulumi, no API: see test_drift_e2e.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from providers.alloy.client import AlloyUserRecord
from providers.alloy.errors import AlloyUnreachableError
from review import drift
from review.drift import (
    COLLAPSE_ABOVE_ROWS,
    USER_TYPE,
    DriftError,
    DriftReport,
    Kind,
    StateUser,
    compare,
    render_markdown,
    state_users,
)


def resource(name: str, user_id: str, *, full_name: str | None = "Name", managed: bool = True, **extra) -> dict:
    inputs = {"__provider": "x", "username": name}
    outputs = {"__provider": "x", "username": name, "userId": user_id, "adopted": False}
    if full_name is not None:
        outputs["fullName"] = full_name
        if managed:
            inputs["fullName"] = full_name
    return {"urn": f"urn:pulumi:prod::alloy::{USER_TYPE}::{name}", "type": USER_TYPE, "id": user_id,
            "inputs": inputs, "outputs": outputs, **extra}


def export(*resources: dict) -> dict:
    stack = {"urn": "urn:pulumi:prod::alloy::pulumi:pulumi:Stack::alloy-prod", "type": "pulumi:pulumi:Stack"}
    return {"version": 3, "deployment": {"resources": [stack, *resources]}}


def user(name: str, user_id: str, full_name: str | None = "Name", managed: bool = True) -> StateUser:
    return StateUser(name, user_id, name, full_name, managed and full_name is not None)


def alloy(username: str | None, user_id: str, full_name: str | None = "Name") -> AlloyUserRecord:
    return AlloyUserRecord(user_id, username, full_name)


# -- the state ------------------------------------------------------------------


def test_state_users_reads_the_alloy_users_of_an_export():
    document = export(
        resource("ada@example.com", "id-ada"),
        resource("grace@example.com", "id-grace", full_name="Grace", managed=False),
        resource("old@example.com", "id-old", delete=True),
        {"urn": "urn:x::other", "type": "pulumi:providers:pulumi-python", "id": "p"},
    )
    assert state_users(document) == [
        StateUser("ada@example.com", "id-ada", "ada@example.com", "Name", True),
        StateUser("grace@example.com", "id-grace", "grace@example.com", "Grace", False),
    ]


def test_state_users_uses_the_inputs_the_stack_set():
    refreshed = resource("ada@example.com", "id-ada", full_name="Ada")
    refreshed["outputs"]["fullName"] = "Changed by refresh"
    [state] = state_users(export(refreshed))
    assert state.full_name == "Ada" and state.full_name_managed


def test_state_users_skips_a_user_without_a_user_id_and_secret_values():
    pending = resource("new@example.com", "")
    pending.pop("id")
    secret = resource("ada@example.com", "id-ada")
    secret["inputs"]["fullName"] = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:x"}
    [ada] = state_users(export(pending, secret))
    assert ada.user_id == "id-ada" and not ada.full_name_managed


@pytest.mark.parametrize("document", [pytest.param({}, id="empty"), pytest.param([], id="a-list")])
def test_a_document_that_is_not_an_export_is_an_error(document):
    with pytest.raises(DriftError):
        state_users(document)


# -- the comparison -------------------------------------------------------------


def kinds(report: DriftReport) -> list[tuple[str, str | None]]:
    return [(finding.kind.value, finding.username) for finding in report.findings]


@pytest.mark.parametrize(
    ("state", "listed", "expected"),
    [
        pytest.param([user("a", "1")], [alloy("a", "1")], [], id="in-sync"),
        pytest.param([user("a", "1")], [], [("deleted", "a")], id="deleted"),
        pytest.param([user("a", "1")], [alloy("b", "1")], [("renamed", "a")], id="renamed"),
        pytest.param([user("a", "1")], [alloy(None, "1")], [("renamed", "a")], id="username-removed"),
        pytest.param([user("a", "1")], [alloy("A", "1")], [("renamed", "a")], id="letter-case-changed"),
        pytest.param([user("a", "1")], [alloy("a", "1", "Other")], [("fullName", "a")], id="full-name-changed"),
        pytest.param([user("a", "1")], [alloy("a", "1", None)], [("fullName", "a")], id="full-name-removed"),
        pytest.param([user("a", "1", managed=False)], [alloy("a", "1", "Other")], [], id="unmanaged-full-name"),
        pytest.param([user("a", "1", None)], [alloy("a", "1", "Any")], [], id="no-full-name-in-state"),
        pytest.param([], [alloy("x", "9")], [("unmanaged", "x")], id="unmanaged"),
        pytest.param([], [alloy(None, "9")], [("unmanaged", None)], id="unmanaged-without-username"),
        pytest.param(
            [user("a", "1")], [alloy("b", "1", "Other")], [("renamed", "a"), ("fullName", "a")], id="renamed-and-full-name"
        ),
    ],
)
def test_compare_finds_each_kind_of_drift(state, listed, expected):
    report = compare("prod", state, listed, set())
    assert kinds(report) == expected
    assert report.drifted == bool(expected)


def test_a_user_the_manifest_declares_is_planned_not_unmanaged():
    report = compare("prod", [], [alloy("Ada@Example.com", "9"), alloy("eve", "8")], {"ada@example.com"})
    assert [u.username for u in report.planned] == ["Ada@Example.com"]
    assert kinds(report) == [("unmanaged", "eve")]


def test_without_the_manifest_nothing_is_planned():
    report = compare("prod", [], [alloy("ada", "9")], None, manifest_problem="users.yaml:1:1: file not found")
    assert kinds(report) == [("unmanaged", "ada")] and not report.planned


def test_a_user_deleted_and_made_again_outside_is_one_finding():
    report = compare("prod", [user("a", "1")], [alloy("a", "2")], set())
    [finding] = report.findings
    assert finding.kind is Kind.DELETED and finding.replaced_by == "2"


def test_findings_are_ordered_by_kind_then_username():
    state = [user("b", "1"), user("a", "2"), user("c", "3")]
    listed = [alloy("b", "1", "X"), alloy("z", "9"), alloy("y", "8"), alloy("c2", "3")]
    report = compare("prod", state, listed, set())
    assert kinds(report) == [("deleted", "a"), ("renamed", "c"), ("fullName", "b"), ("unmanaged", "y"), ("unmanaged", "z")]
    assert report.in_sync == 0 and report.state_users == 3 and report.alloy_users == 4


# -- the report -----------------------------------------------------------------


def test_the_report_starts_with_the_stack_marker():
    text = render_markdown(compare("org/prod", [user("a", "1")], [alloy("a", "1")], set()))
    assert text.splitlines()[0] == "<!-- alloy-users-drift stack=org/prod -->"
    assert "**No drift.**" in text and "How to resolve" not in text


def test_untrusted_text_is_shown_literally():
    hostile = "x|y`<img src=x>` @team #1 **b**\u202e"
    report = compare("prod", [user("a", "1")], [alloy(hostile, "1", hostile)], set())
    text = render_markdown(report)
    row = next(line for line in text.splitlines() if line.startswith("| `renamed`"))
    assert row.count(" | ") == 3, "the table cell was split"
    assert "\\u202e" in row and "\u202e" not in text
    assert "``x\\|y`<img src=x>` @team #1 **b**\\u202e``" in row


def test_many_findings_fold_into_details():
    listed = [alloy(f"user{i:02d}", f"id{i}") for i in range(COLLAPSE_ABOVE_ROWS + 1)]
    text = render_markdown(compare("prod", [], listed, set()))
    assert f"<details><summary>Show all {COLLAPSE_ABOVE_ROWS + 1} drifted users</summary>" in text


def test_a_huge_report_is_cut_to_its_limit():
    listed = [alloy(f"user{i:04d}@example.com", f"id{i:04d}") for i in range(2000)]
    text = render_markdown(compare("prod", [], listed, set()), max_chars=20_000)
    assert len(text) <= 20_000
    assert "more rows are left out" in text and text.startswith("<!-- alloy-users-drift stack=prod -->")


# -- the command ----------------------------------------------------------------


def args(tmp_path: Path) -> argparse.Namespace:
    return argparse.Namespace(stack="prod", cwd=".", output=str(tmp_path / "drift.md"))


@pytest.mark.parametrize(
    ("report", "status"),
    [
        pytest.param(compare("prod", [user("a", "1")], [alloy("a", "1")], set()), 0, id="no-drift"),
        pytest.param(compare("prod", [user("a", "1")], [], set()), 4, id="drift"),
    ],
)
def test_exit_status_and_report_file(monkeypatch, tmp_path, capsys, report, status):
    monkeypatch.setattr(drift, "check_drift", lambda stack, cwd, environ: report)
    assert drift.run(args(tmp_path), {}) == status
    assert (tmp_path / "drift.md").read_text() == render_markdown(report)
    assert capsys.readouterr().err.startswith("drift of stack prod: ")


@pytest.mark.parametrize(
    "problem",
    [
        pytest.param(DriftError("`pulumi stack export --stack prod` exited 255: no stack"), id="no-stack"),
        pytest.param(AlloyUnreachableError("GET", "/users", "https://x", "connection failed"), id="unreachable"),
    ],
)
def test_a_failed_check_exits_1_and_writes_no_report(monkeypatch, tmp_path, capsys, problem):
    def fail(stack, cwd, environ):
        raise problem

    monkeypatch.setattr(drift, "check_drift", fail)
    assert drift.run(args(tmp_path), {}) == 1
    assert not (tmp_path / "drift.md").exists()
    assert str(problem) in capsys.readouterr().err


def test_the_readme_documents_every_flag_and_exit_status():
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Drift\n", 1)[1].split("\n## ", 1)[0]
    parser = argparse.ArgumentParser()
    handlers: dict = {}
    drift.register(parser.add_subparsers(), handlers)
    sub = parser._subparsers._group_actions[0].choices["drift"]  # type: ignore[union-attr]
    flags = [flag for action in sub._actions for flag in action.option_strings if flag.startswith("--")]
    assert [flag for flag in flags if flag != "--help" and flag not in section] == []
    assert re.search(r"Exit status of `drift`: 0 no drift; 4 drift found; 1 .*; 2 a usage error", section, flags=re.S)
