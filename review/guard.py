"""The deletion guard as the review tools apply it: the shared rule
(``providers.guard.rule``) plus the acknowledgements a reviewer can give
here: ``--allow-deletes N``, ``ALLOY_ALLOW_DELETES=N``, or a line
``Alloy-Allow-Deletes: N`` in a pull request text.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence

from providers.guard.rule import (
    ALLOW_DELETES_ENV,
    MAX_DELETES_CONFIG,
    Acknowledgement,
    Code,
    DeleteLimit,
    GuardInputError,
    Verdict,
    acknowledgement_from_env,
    delete_limit,
    evaluate,
    parse_count,
)
from review.acknowledge import visible_lines
from review.defaults import ACK_TRAILER

__all__ = [
    "ALLOW_DELETES_ENV",
    "MAX_DELETES_CONFIG",
    "PR_DESCRIPTION",
    "Acknowledgement",
    "DeleteLimit",
    "GuardInputError",
    "Verdict",
    "acknowledgement_in_text",
    "delete_limit",
    "evaluate",
    "parse_count",
    "resolve_acknowledgement",
    "review_ways",
]

PR_DESCRIPTION = "the pull request description"
_TRAILER = re.compile(rf"^[ \t]*{re.escape(ACK_TRAILER)}[ \t]*:(.*)$", re.IGNORECASE)


def acknowledgement_in_text(text: str) -> Optional[int]:
    """The count of the visible ``Alloy-Allow-Deletes: N`` line(s) of a pull
    request text (``visible_lines``: none inside an HTML comment, a code
    block or a quote); None without one. Lines that disagree are refused."""
    values = [match.group(1) for line in visible_lines(text) for match in [_TRAILER.match(line)] if match]
    counts = {parse_count(value, f"'{ACK_TRAILER}:' in {PR_DESCRIPTION}") for value in values}
    if len(counts) > 1:
        raise GuardInputError(
            f"{PR_DESCRIPTION} has '{ACK_TRAILER}:' lines with different counts "
            f"({', '.join(map(str, sorted(counts)))}): keep one"
        )
    return counts.pop() if counts else None


def resolve_acknowledgement(
    flag: Optional[str], environ: Mapping[str, str], pr_body: Optional[str]
) -> Optional[Acknowledgement]:
    """The acknowledgement in force: the flag, else the environment, else the
    pull request text. Raise ``GuardInputError`` for a malformed one."""
    if flag is not None:
        count = parse_count(flag, "--allow-deletes")
        return Acknowledgement(count, "--allow-deletes", f"--allow-deletes {count}")
    from_env = acknowledgement_from_env(environ)
    if from_env is not None:
        return from_env
    if pr_body is not None:
        count = acknowledgement_in_text(pr_body)
        if count is not None:
            return Acknowledgement(count, PR_DESCRIPTION, f"{ACK_TRAILER}: {count}", PR_DESCRIPTION)
    return None


def review_ways(n: int, code: Code) -> Sequence[str]:
    """How a reviewer acknowledges ``n`` deletions."""
    return [
        f"the line {code(f'{ACK_TRAILER}: {n}')} in an approving review by someone other than the author",
        code(f"--allow-deletes {n}"),
        code(f"{ALLOW_DELETES_ENV}={n}"),
    ]
