"""The deletion guard: a run that deletes more users than a limit stops
unless someone acknowledged exactly that many deletions.

- The limit is ``--max-deletes N``, else the stack's ``alloy:maxDeletes``,
  else (``alloy:maxDeletes`` = -1, the default) the larger of
  ``MIN_DELETE_LIMIT`` and ``DELETE_LIMIT_PERCENT`` % of the stack's users.
- A removal with ``retainOnDelete`` is not a deletion: the user stays in Alloy.
- An acknowledgement names a count: ``--allow-deletes N``, else
  ``ALLOY_ALLOW_DELETES=N``, else a line ``Alloy-Allow-Deletes: N`` in the
  pull request description. It lets the run through only when N equals the
  number of deletions, so a typo, a stale value or a manifest cut short after
  review cannot wave through more deletions than the reviewer saw. Anything
  but a plain number is refused (``GuardInputError``), never read as "all".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from review.defaults import (
    ACK_TRAILER,
    ALLOW_DELETES_ENV,
    AUTOMATIC_MAX_DELETES,
    DELETE_LIMIT_PERCENT,
    MAX_ACKNOWLEDGED_DELETES,
    MAX_DELETES_CONFIG,
    MIN_DELETE_LIMIT,
)

PR_DESCRIPTION = "the pull request description"
_COUNT = re.compile(r"[0-9]{1,%d}" % len(str(MAX_ACKNOWLEDGED_DELETES)))
_TRAILER = re.compile(rf"^[ \t]*{re.escape(ACK_TRAILER)}[ \t]*:(.*)$", re.IGNORECASE | re.MULTILINE)

Code = Callable[[str], str]


class GuardInputError(ValueError):
    """An acknowledgement or a limit that is not a plain whole number."""


@dataclass(frozen=True)
class Acknowledgement:
    """"I expect exactly ``count`` deletions", and where it was said."""

    count: int
    source: str


@dataclass(frozen=True)
class DeleteLimit:
    """How many deletions a run may make unacknowledged, and why."""

    value: int
    source: str
    existing_users: int

    def describe(self) -> str:
        if self.source == "automatic":
            return f"the larger of {MIN_DELETE_LIMIT} and {DELETE_LIMIT_PERCENT}% of the stack's users"
        return f"set by {self.source}"


@dataclass(frozen=True)
class Verdict:
    """The guard's answer for one plan."""

    allowed: bool
    deletions: int
    limit: DeleteLimit
    acknowledgement: Optional[Acknowledgement] = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledgement is not None and self.acknowledgement.count == self.deletions

    def explain(self, code: Code = lambda text: f"'{text}'") -> str:
        """One paragraph: what the plan deletes against the limit, and, when
        blocked, how to acknowledge. ``code`` formats literals."""
        limit = f"the limit of {self.limit.value} ({self.limit.describe()})"
        deletes = f"the plan deletes {self.deletions} of the stack's {_users(self.limit.existing_users)}"
        ack = self.acknowledgement
        if self.deletions == 0:
            text = "the plan deletes no user."
        elif self.allowed and self.deletions <= self.limit.value:
            text = f"{deletes}, within {limit}."
        elif self.allowed:
            text = f"{deletes}, more than {limit}, acknowledged by {_source(ack, code)}."
        else:
            text = f"{deletes}, more than {limit}."
        if ack is not None and ack.count != self.deletions:
            text += (f" {_source(ack, code)} acknowledges {ack.count}, not {self.deletions}: "
                     "an acknowledgement must name the exact count.")
        if not self.allowed:
            n = self.deletions
            text += (
                f" If these deletions are intended, acknowledge exactly this count: the line "
                f"{code(f'{ACK_TRAILER}: {n}')} in {PR_DESCRIPTION}, {code(f'--allow-deletes {n}')} "
                f"or {code(f'{ALLOW_DELETES_ENV}={n}')}. The limit is set by {code(MAX_DELETES_CONFIG)}."
            )
        return text


def parse_count(text: str, source: str) -> int:
    """A whole number of deletions from ``text`` (surrounding blanks allowed);
    raise ``GuardInputError`` naming ``source`` for anything else."""
    value = text.strip()
    if not _COUNT.fullmatch(value) or int(value) > MAX_ACKNOWLEDGED_DELETES:
        raise GuardInputError(
            f"{source} must be a whole number of deletions, such as 3 "
            f"(at most {MAX_ACKNOWLEDGED_DELETES}), got {text.strip()!r}"
        )
    return int(value)


def acknowledgement_in_text(text: str) -> Optional[int]:
    """The count of the ``Alloy-Allow-Deletes: N`` line(s) of a pull request
    description; None without one. Lines that disagree are refused."""
    values = [match.group(1) for match in _TRAILER.finditer(text.replace("\r\n", "\n"))]
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
    pull request description. Raise ``GuardInputError`` for a malformed one."""
    if flag is not None:
        return Acknowledgement(parse_count(flag, "--allow-deletes"), "--allow-deletes")
    if environ.get(ALLOW_DELETES_ENV, "").strip():
        return Acknowledgement(parse_count(environ[ALLOW_DELETES_ENV], ALLOW_DELETES_ENV), ALLOW_DELETES_ENV)
    if pr_body is not None:
        count = acknowledgement_in_text(pr_body)
        if count is not None:
            return Acknowledgement(count, PR_DESCRIPTION)
    return None


def delete_limit(existing_users: int, *, flag: Optional[int] = None, config_value: Optional[str] = None) -> DeleteLimit:
    """The limit: ``flag`` (``--max-deletes``), else ``config_value``
    (``alloy:maxDeletes``; empty or -1 means automatic), else automatic."""
    if flag is not None:
        if flag < 0:
            raise GuardInputError(f"--max-deletes must be 0 or more, got {flag}")
        return DeleteLimit(flag, "--max-deletes", existing_users)
    value = (config_value or "").strip()
    if value and value != str(AUTOMATIC_MAX_DELETES):
        number = parse_count(value, f"{MAX_DELETES_CONFIG} ({AUTOMATIC_MAX_DELETES} for automatic)")
        return DeleteLimit(number, MAX_DELETES_CONFIG, existing_users)
    automatic = max(MIN_DELETE_LIMIT, existing_users * DELETE_LIMIT_PERCENT // 100)
    return DeleteLimit(automatic, "automatic", existing_users)


def evaluate(deletions: int, limit: DeleteLimit, acknowledgement: Optional[Acknowledgement] = None) -> Verdict:
    """Allowed when ``deletions`` is within ``limit`` or exactly acknowledged."""
    exact = acknowledgement is not None and acknowledgement.count == deletions
    return Verdict(deletions <= limit.value or exact, deletions, limit, acknowledgement)


def _users(count: int) -> str:
    return f"{count} user{'' if count == 1 else 's'}"


def _source(ack: Optional[Acknowledgement], code: Code) -> str:
    if ack is None:
        return ""
    if ack.source == PR_DESCRIPTION:
        return f"{code(f'{ACK_TRAILER}: {ack.count}')} in {PR_DESCRIPTION}"
    if ack.source == ALLOW_DELETES_ENV:
        return code(f"{ALLOW_DELETES_ENV}={ack.count}")
    return code(f"{ack.source} {ack.count}")
