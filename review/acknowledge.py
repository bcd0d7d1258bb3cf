"""Where a deletion acknowledgement comes from in the pull-request flow: an
approving review, by someone other than the author, whose body has a
visible line ``Alloy-Allow-Deletes: N``.

Pure functions over the JSON of GitHub's REST API
(``GET /repos/{owner}/{repo}/pulls/{number}/reviews``), so the selection is
tested without GitHub:

- Each reviewer's **latest state** decides: only APPROVED, CHANGES_REQUESTED
  and DISMISSED change it (a later COMMENTED review does not, as on GitHub).
  A later dismissal or request for changes voids an earlier approval.
- The author's own reviews, bots' reviews and reviews by accounts without a
  trusted association to the repository (OWNER, MEMBER, COLLABORATOR) never
  count; with ``head_sha``, neither does an approval of an older commit.
- Only the body of that latest approving review is read, and only its
  **visible** lines: lines inside HTML comments or raw HTML blocks, fenced
  code (``` and ~~~), indented code and block quotes (with their lazy
  continuation lines) are ignored. Anything unsure is ignored, never counted.
- Approvers naming different counts, or a value that is not a plain number,
  raise ``AcknowledgementError``: the workflow fails rather than guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

from providers.guard.rule import GuardInputError, parse_count
from review.defaults import ACK_TRAILER

APPROVED = "APPROVED"
# Review states that change a reviewer's verdict; COMMENTED and PENDING do not.
DECIDING_STATES = frozenset({APPROVED, "CHANGES_REQUESTED", "DISMISSED"})
# author_association values of accounts that belong to the repository.
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})

_TRAILER = re.compile(rf"^ {{0,3}}{re.escape(ACK_TRAILER)}[ \t]*:(.*)$", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HTML_BLOCK = re.compile(r"^ {0,3}<[A-Za-z/!?]")
_QUOTE = re.compile(r"^ {0,3}>")
_INDENTED = re.compile(r"^(?: {4}|\t| {0,3}\t)")


class AcknowledgementError(ValueError):
    """An acknowledgement that cannot be read as one plain count."""


@dataclass(frozen=True)
class ReviewAcknowledgement:
    """``reviewer`` approved with a visible ``Alloy-Allow-Deletes: count``."""

    reviewer: str
    count: int


def visible_lines(markdown: str) -> list[str]:
    """The lines of ``markdown`` a reader sees as plain text, in order.

    Ignored: HTML comments (an unterminated one hides the rest), raw HTML
    blocks up to the next blank line, fenced code blocks (an unclosed fence
    hides the rest), indented code, and block quotes with the lines that
    lazily continue them up to the next blank line.
    """
    text = _COMMENT.sub("", markdown.replace("\r\n", "\n").replace("\r", "\n"))
    shown: list[str] = []
    fence: Optional[str] = None
    hidden_paragraph = False
    for line in text.split("\n"):
        if fence is not None:
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence) \
                    and not line.strip().lstrip(fence[0]):
                fence = None
            continue
        if not line.strip():
            hidden_paragraph = False
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)
            hidden_paragraph = False
            continue
        if hidden_paragraph:
            continue
        if _QUOTE.match(line) or _HTML_BLOCK.match(line):
            hidden_paragraph = True
            continue
        if _INDENTED.match(line):
            continue
        shown.append(line)
    return shown


def count_in_text(markdown: str, source: str = "the review") -> Optional[int]:
    """The count of the visible ``Alloy-Allow-Deletes: N`` line(s) of
    ``markdown``; None without one. Disagreeing lines or a value that is not
    a plain number raise ``AcknowledgementError`` naming ``source``."""
    counts = set()
    for line in visible_lines(markdown):
        match = _TRAILER.match(line)
        if match:
            counts.add(_parse_count(match.group(1), source))
    if len(counts) > 1:
        raise AcknowledgementError(
            f"{source} has '{ACK_TRAILER}:' lines with different counts "
            f"({', '.join(map(str, sorted(counts)))}): keep one"
        )
    return counts.pop() if counts else None


def latest_decisions(reviews: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Each reviewer's latest deciding review (APPROVED, CHANGES_REQUESTED or
    DISMISSED), keyed by lower-cased login, in the order GitHub submitted them."""
    ordered = sorted(
        (review for review in reviews if _login(review) and review.get("state") in DECIDING_STATES),
        key=lambda review: (str(review.get("submitted_at") or ""), int(review.get("id") or 0)),
    )
    return {_login(review): review for review in ordered}


def acknowledging_reviews(
    reviews: Iterable[Mapping[str, Any]],
    author: str,
    *,
    head_sha: Optional[str] = None,
    associations: frozenset[str] = TRUSTED_ASSOCIATIONS,
) -> list[ReviewAcknowledgement]:
    """The reviewers whose latest deciding review approves (``head_sha``, if
    given) with a visible acknowledgement, sorted by login."""
    found = []
    for login, review in sorted(latest_decisions(reviews).items()):
        if review.get("state") != APPROVED or login == author.strip().lower():
            continue
        if (review.get("user") or {}).get("type") == "Bot":
            continue
        if review.get("author_association") not in associations:
            continue
        if head_sha and review.get("commit_id") != head_sha:
            continue
        name = (review.get("user") or {}).get("login", login)
        count = count_in_text(str(review.get("body") or ""), f"the approving review by @{name}")
        if count is not None:
            found.append(ReviewAcknowledgement(name, count))
    return found


def acknowledgement(
    reviews: Iterable[Mapping[str, Any]],
    author: str,
    *,
    head_sha: Optional[str] = None,
    associations: frozenset[str] = TRUSTED_ASSOCIATIONS,
) -> Optional[int]:
    """The acknowledged count of a pull request's reviews, or None. Approvers
    naming different counts raise ``AcknowledgementError``."""
    found = acknowledging_reviews(reviews, author, head_sha=head_sha, associations=associations)
    counts = {ack.count for ack in found}
    if len(counts) > 1:
        said = ", ".join(f"@{ack.reviewer}: {ack.count}" for ack in found)
        raise AcknowledgementError(f"approving reviews acknowledge different counts ({said}): agree on one")
    return counts.pop() if counts else None


def flatten_pages(pages: Sequence[Any]) -> list[Mapping[str, Any]]:
    """The objects of ``gh api --paginate`` output: pages (arrays) or objects."""
    items: list[Mapping[str, Any]] = []
    for page in pages:
        for item in page if isinstance(page, list) else [page]:
            if not isinstance(item, Mapping):
                raise AcknowledgementError(f"expected review objects, got {type(item).__name__}")
            items.append(item)
    return items


def _login(review: Mapping[str, Any]) -> str:
    return str((review.get("user") or {}).get("login") or "").lower()


def _parse_count(text: str, source: str) -> int:
    try:
        return parse_count(text, f"'{ACK_TRAILER}:' in {source}")
    except GuardInputError as problem:
        raise AcknowledgementError(str(problem)) from None
