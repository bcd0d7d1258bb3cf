"""One drift issue per stack, kept equal to the latest report (review.drift_issue)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from review.drift_issue import LABEL, issue_body, main, next_step

MARKER = "<!-- alloy-users-drift stack=prod -->"
REPORT = f"{MARKER}\n### Drift in stack `prod`\n\n1 user differs.\n"


def issue(number: int, body: str = REPORT, *, label: str = LABEL, **extra: Any) -> dict[str, Any]:
    return {"number": number, "state": "open", "body": body, "labels": [{"name": label}], **extra}


@pytest.mark.parametrize(
    ("status", "issues", "expected"),
    [
        pytest.param(4, [], ("create", None), id="drift-appears"),
        pytest.param(4, [issue(7)], ("keep", 7), id="same-drift-already-reported"),
        pytest.param(4, [issue(7, REPORT.replace("\n", "\r\n"))], ("keep", 7), id="line-endings-do-not-matter"),
        pytest.param(4, [issue(7, f"{MARKER}\nold report")], ("update", 7), id="drift-changed"),
        pytest.param(4, [issue(9, f"{MARKER}\nx"), issue(7, f"{MARKER}\ny")], ("update", 7), id="oldest-issue"),
        pytest.param(4, [issue(7, "<!-- alloy-users-drift stack=dev -->\nx")], ("create", None),
                     id="other-stacks-issue"),
        pytest.param(4, [issue(7, label="bug")], ("create", None), id="unlabelled-issue"),
        pytest.param(4, [issue(7, pull_request={})], ("create", None), id="pull-requests-are-not-issues"),
        pytest.param(0, [issue(7)], ("close", 7), id="clean-again"),
        pytest.param(0, [], ("none", None), id="clean"),
        pytest.param(1, [issue(7)], ("fail", None), id="check-failed"),
        pytest.param(2, [], ("fail", None), id="usage-error"),
    ],
)
def test_next_step(status, issues, expected):
    assert next_step(status, REPORT if status in (0, 4) else "", issues) == expected


def test_a_report_without_a_marker_fails():
    assert next_step(4, "", []) == ("fail", None)


def test_a_long_report_is_cut_keeping_the_marker():
    body = issue_body(REPORT + "row\n" * 30_000, max_chars=1_000)
    assert body.startswith(MARKER) and len(body) < 1_200 and "cut here" in body


def test_the_command_prints_the_step_and_writes_the_body(tmp_path, capsys):
    report, issues, body = tmp_path / "drift.md", tmp_path / "issues.json", tmp_path / "issue.md"
    report.write_text(REPORT, encoding="utf-8")
    issues.write_text(json.dumps([issue(3, f"{MARKER}\nold")]) + json.dumps([]), encoding="utf-8")
    assert main(["--status", "4", "--report", str(report), "--issues", str(issues), "--body", str(body)]) == 0
    assert capsys.readouterr().out == "update 3\n" and body.read_text(encoding="utf-8") == REPORT


def test_a_failed_check_needs_no_report(tmp_path, capsys):
    issues = tmp_path / "issues.json"
    issues.write_text("[]", encoding="utf-8")
    assert main(["--status", "1", "--report", str(tmp_path / "missing.md"), "--issues", str(issues)]) == 0
    assert capsys.readouterr().out == "fail\n"
