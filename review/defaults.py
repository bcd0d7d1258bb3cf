"""Named defaults of the review tools, in one place."""

from __future__ import annotations


# The deletion guard's rule and its settings live in providers.guard.rule.
ACK_TRAILER = "Alloy-Allow-Deletes"

# The plan comment.
COMMENT_MARKER = "<!-- alloy-users-plan -->"
COLLAPSE_ABOVE_ROWS = 10
# GitHub refuses comments over 65,536 characters; keep a margin for the notes.
MAX_COMMENT_CHARS = 60_000
MAX_DIAGNOSTIC_CHARS = 4_000
# A workflow run's step summary may hold up to 1 MiB.
MAX_SUMMARY_CHARS = 1_000_000

# `pulumi preview` / `pulumi up` as run by these tools.
PULUMI = "pulumi"
PULUMI_TIMEOUT_S = 1_800

# Exit codes of `python -m review`.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BLOCKED = 3
