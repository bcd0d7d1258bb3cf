"""Named defaults of the review tools, in one place."""

from __future__ import annotations

# The resource type of an Alloy user (``providers.alloy_user.AlloyUser``).
USER_TYPE = "pulumi-python:dynamic/alloy:User"

# Deletion guard: with no explicit limit, a run may delete at most the larger
# of MIN_DELETE_LIMIT users and DELETE_LIMIT_PERCENT of the stack's users.
MIN_DELETE_LIMIT = 5
DELETE_LIMIT_PERCENT = 10
MAX_DELETES_CONFIG = "alloy:maxDeletes"
# The value Pulumi.yaml declares as the default of alloy:maxDeletes: "use the rule above".
AUTOMATIC_MAX_DELETES = -1
# Where an acknowledgement ("I expect exactly N deletions") comes from.
ALLOW_DELETES_ENV = "ALLOY_ALLOW_DELETES"
ACK_TRAILER = "Alloy-Allow-Deletes"
# No plan deletes more users than this; a larger acknowledgement is a typo.
MAX_ACKNOWLEDGED_DELETES = 1_000_000

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
