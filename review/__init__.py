"""Pull-request review of users.yaml changes: the plan comment, the deletion
guard, and the guarded apply.

    python -m review plan  [--preview-json FILE] [--output FILE] ...   Markdown plan for a PR comment
    python -m review guard [--preview-json FILE] ...                   the deletion guard alone
    python -m review apply ...                                         preview, guard, then `pulumi up` of that plan

See ``review.cli`` for the options and exit codes.
"""
