"""Keep ONE GitHub issue equal to the latest drift report of a stack.

    python -m review.drift_issue --status N --report drift.md --issues ISSUES.json

``--status`` is the exit status of ``python -m review drift`` (0 no drift,
4 drift found, anything else a failure); ISSUES.json is the output of ``gh
api --paginate 'repos/OWNER/REPO/issues?labels=alloy-drift&state=open'``.
The drift issue is the oldest open one with the label whose body starts
with the report's first line (the marker naming the stack). Prints what the
workflow does next, one line:

    create            drift and no issue: open one with the report
    update NUMBER     drift and the issue says something else: replace its body
    keep NUMBER       drift, already reported word for word
    close NUMBER      no drift and an open issue: comment, then close it
    none              no drift, no issue
    fail              the drift check itself failed: touch nothing, fail the job

Exit status 0, or 2 for unreadable input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from review.defaults import MAX_COMMENT_CHARS
from review.github import read_json_stream

PROGRAM = "python -m review.drift_issue"
LABEL = "alloy-drift"
EXIT_NO_DRIFT = 0
EXIT_DRIFT = 4


def drift_issue(issues: Iterable[Mapping[str, Any]], marker: str) -> Optional[Mapping[str, Any]]:
    """The open drift issue of the stack that ``marker`` names, or None (pull
    requests, which the issues API lists too, never count)."""
    mine = [
        issue for issue in issues
        if issue.get("state", "open") == "open" and "pull_request" not in issue
        and any(label.get("name") == LABEL for label in issue.get("labels") or [])
        and _first_line(str(issue.get("body") or "")) == marker
    ]
    return min(mine, key=lambda issue: int(issue["number"]), default=None)


def next_step(status: int, report: str, issues: Iterable[Mapping[str, Any]]) -> tuple[str, Optional[int]]:
    """``(action, issue number)`` for a drift run that exited with ``status``."""
    if status not in (EXIT_NO_DRIFT, EXIT_DRIFT):
        return "fail", None
    marker = _first_line(report)
    if not marker:
        return "fail", None
    issue = drift_issue(issues, marker)
    if status == EXIT_NO_DRIFT:
        return ("close", int(issue["number"])) if issue else ("none", None)
    if issue is None:
        return "create", None
    if _normalise(str(issue.get("body") or "")) == _normalise(issue_body(report)):
        return "keep", int(issue["number"])
    return "update", int(issue["number"])


def issue_body(report: str, *, max_chars: int = MAX_COMMENT_CHARS) -> str:
    """The report as an issue body: cut to ``max_chars`` (GitHub refuses
    bodies over 65,536 characters), marker line kept."""
    if len(report) <= max_chars:
        return report
    cut = report[:max_chars].rsplit("\n", 1)[0]
    return f"{cut}\n\n_The report is cut here: see the workflow run's summary for all of it._\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print the next step, one line."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    parser.add_argument("--status", type=int, required=True, help="exit status of `python -m review drift`")
    parser.add_argument("--report", required=True, metavar="FILE", help="the drift report (Markdown)")
    parser.add_argument("--issues", required=True, metavar="FILE", help="the open issues with the label (API JSON)")
    parser.add_argument("--body", metavar="FILE", help="also write the issue body to write here")
    args = parser.parse_args(argv)
    try:
        report = Path(args.report).read_text(encoding="utf-8") if args.status in (EXIT_NO_DRIFT, EXIT_DRIFT) else ""
        issues = read_json_stream(Path(args.issues).read_text(encoding="utf-8"))
    except (OSError, ValueError) as problem:
        print(f"{PROGRAM}: {problem}", file=sys.stderr)
        return 2
    action, number = next_step(args.status, report, issues)
    if args.body and action in ("create", "update"):
        Path(args.body).write_text(issue_body(report), encoding="utf-8")
    print(action if number is None else f"{action} {number}")
    return 0


def _first_line(text: str) -> str:
    return text.lstrip("\ufeff").replace("\r\n", "\n").split("\n", 1)[0].strip()


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


if __name__ == "__main__":
    sys.exit(main())
