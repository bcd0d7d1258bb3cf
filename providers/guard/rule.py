"""The deletion guard: a run that deletes more users than a limit stops
unless someone acknowledged exactly that many deletions.

- The limit is ``alloy:maxDeletes`` when set (0 or more), else the larger of
  ``MIN_DELETE_LIMIT`` and ``DELETE_LIMIT_PERCENT`` % of the stack's users.
- Only a removal that destroys the user in Alloy counts: a user with
  ``retainOnDelete``, or one the stack adopted (unless ``deleteAdopted``), is
  only forgotten.
- An acknowledgement names a count (``ALLOY_ALLOW_DELETES=N``, or what a
  tool resolves from a flag or a review). It lets the run through only when N
  equals the number of deletions, so a typo, a stale value or a manifest cut
  short after review cannot wave through more deletions than were seen.
  Anything but a plain number is refused (``GuardInputError``), never read as "all".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

from providers.alloy.settings import AUTOMATIC_MAX_DELETES, MAX_DELETES, MAX_DELETES_LIMIT

MIN_DELETE_LIMIT = 5
DELETE_LIMIT_PERCENT = 10
ALLOW_DELETES_ENV = "ALLOY_ALLOW_DELETES"
MAX_DELETES_CONFIG = MAX_DELETES.key
# No plan deletes more users than this; a larger acknowledgement is a typo.
MAX_ACKNOWLEDGED_DELETES = MAX_DELETES_LIMIT
AUTOMATIC_RULE = f"the larger of {MIN_DELETE_LIMIT} and {DELETE_LIMIT_PERCENT}% of the stack's users"

_COUNT = re.compile(r"[0-9]{1,%d}" % len(str(MAX_ACKNOWLEDGED_DELETES)))

Code = Callable[[str], str]
Ways = Callable[[int, Code], Sequence[str]]


class GuardInputError(ValueError):
    """An acknowledgement or a limit that is not a plain whole number."""


@dataclass(frozen=True)
class Acknowledgement:
    """"I expect exactly ``count`` deletions", and where it was said
    (``shown``: the literal that said it, e.g. ``ALLOY_ALLOW_DELETES=3``;
    ``where``: the text it stood in, if any)."""

    count: int
    source: str
    shown: str = ""
    where: str = ""


@dataclass(frozen=True)
class DeleteLimit:
    """How many deletions a run may make unacknowledged, and why."""

    value: int
    source: str
    existing_users: int

    def describe(self) -> str:
        if self.source == "automatic":
            return AUTOMATIC_RULE
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

    def explain(self, code: Code = lambda text: f"'{text}'", ways: Optional[Ways] = None) -> str:
        """One paragraph: what the plan deletes against the limit, and, when
        blocked, how to acknowledge. ``code`` formats literals; ``ways(n,
        code)`` lists the ways to acknowledge n deletions (by default the
        environment variable alone)."""
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
            options = list(ways(n, code)) if ways else [code(f"{ALLOW_DELETES_ENV}={n}")]
            text += (
                f" If these deletions are intended, acknowledge exactly this count: {_either(options)}."
                f" The limit is set by {code(MAX_DELETES_CONFIG)}."
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


def acknowledgement_from_env(environ: Mapping[str, str]) -> Optional[Acknowledgement]:
    """``ALLOY_ALLOW_DELETES=N`` from ``environ``, or None when unset or blank.
    Raise ``GuardInputError`` for a value that is not a plain count."""
    value = environ.get(ALLOW_DELETES_ENV, "")
    if not value.strip():
        return None
    count = parse_count(value, ALLOW_DELETES_ENV)
    return Acknowledgement(count, ALLOW_DELETES_ENV, f"{ALLOW_DELETES_ENV}={count}")


def delete_limit(existing_users: int, *, flag: Optional[int] = None, config_value: Optional[str] = None) -> DeleteLimit:
    """The limit: ``flag`` (a tool's ``--max-deletes``), else ``config_value``
    (``alloy:maxDeletes``; empty or -1 means automatic), else automatic."""
    if flag is not None:
        if flag < 0:
            raise GuardInputError(f"--max-deletes must be 0 or more, got {flag}")
        return DeleteLimit(flag, "--max-deletes", existing_users)
    value = "" if config_value is None else str(config_value).strip()
    if value and value != str(AUTOMATIC_MAX_DELETES):
        number = parse_count(value, f"{MAX_DELETES_CONFIG} ({AUTOMATIC_MAX_DELETES} for automatic)")
        return DeleteLimit(number, MAX_DELETES_CONFIG, existing_users)
    automatic = max(MIN_DELETE_LIMIT, existing_users * DELETE_LIMIT_PERCENT // 100)
    return DeleteLimit(automatic, "automatic", existing_users)


def evaluate(deletions: int, limit: DeleteLimit, acknowledgement: Optional[Acknowledgement] = None) -> Verdict:
    """Allowed when ``deletions`` is within ``limit`` or exactly acknowledged."""
    exact = acknowledgement is not None and acknowledgement.count == deletions
    return Verdict(deletions <= limit.value or exact, deletions, limit, acknowledgement)


def judge(
    deletions: int, existing_users: int, max_deletes: int, environ: Mapping[str, str]
) -> Verdict:
    """The verdict on ``deletions`` out of ``existing_users``, with the
    ``alloy:maxDeletes`` setting (``AUTOMATIC_MAX_DELETES`` for the rule) and
    the acknowledgement of ``environ``. Raise ``GuardInputError`` for a
    malformed acknowledgement. The program and ``pulumi destroy``'s guard
    both decide through this."""
    limit = delete_limit(existing_users, config_value=str(max_deletes))
    return evaluate(deletions, limit, acknowledgement_from_env(environ))


def _users(count: int) -> str:
    return f"{count} user{'' if count == 1 else 's'}"


def _either(options: Sequence[str]) -> str:
    if len(options) <= 1:
        return "".join(options)
    return ", ".join(options[:-1]) + " or " + options[-1]


def _source(ack: Optional[Acknowledgement], code: Code) -> str:
    if ack is None:
        return ""
    shown = code(ack.shown or f"{ack.source} {ack.count}")
    return f"{shown} in {ack.where}" if ack.where else shown
