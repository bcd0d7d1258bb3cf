"""``python -m review acknowledgement``: the deletion count that the pull
request's approving reviews acknowledge (see ``review.acknowledge``).

    python -m review acknowledgement --reviews REVIEWS.json --author LOGIN [--head-sha SHA]

REVIEWS.json is the output of ``gh api --paginate
repos/OWNER/REPO/pulls/N/reviews`` (one array a page). Prints the count and a
newline, or nothing when no approving review acknowledges deletions; who
acknowledged goes to stderr. Exit status 0, or 2 for unreadable input or an
acknowledgement that is not one plain count.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from review.acknowledge import AcknowledgementError, acknowledging_reviews, acknowledgement, flatten_pages
from review.defaults import EXIT_OK, EXIT_USAGE
from review.github import read_json_stream

NAME = "acknowledgement"
Handler = Callable[[argparse.Namespace, Mapping[str, str]], int]


def register(commands: Any, handlers: dict[str, Handler]) -> None:
    """Add the subcommand to ``commands`` (argparse subparsers) and its handler to ``handlers``."""
    text = "the deletion count acknowledged by the pull request's approving reviews"
    sub = commands.add_parser(NAME, help=text, description=__doc__.split("\n\n", 1)[1],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("--reviews", required=True, metavar="FILE", help="the pull request's reviews (GitHub API JSON)")
    sub.add_argument("--author", required=True, metavar="LOGIN", help="the pull request's author")
    sub.add_argument("--head-sha", metavar="SHA", help="count only approvals of this commit (the PR's head)")
    handlers[NAME] = run


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Print the acknowledged count, or nothing."""
    try:
        reviews = flatten_pages(read_json_stream(Path(args.reviews).read_text(encoding="utf-8")))
        count = acknowledgement(reviews, args.author, head_sha=args.head_sha)
    except (OSError, ValueError) as problem:  # AcknowledgementError and JSON errors are ValueErrors
        kind = "" if isinstance(problem, AcknowledgementError) else f"cannot read --reviews {args.reviews}: "
        print(f"python -m review {NAME}: {kind}{problem}", file=sys.stderr)
        return EXIT_USAGE
    if count is None:
        print("no approving review acknowledges deletions", file=sys.stderr)
        return EXIT_OK
    who = ", ".join(f"@{ack.reviewer}" for ack in acknowledging_reviews(reviews, args.author, head_sha=args.head_sha))
    print(f"{count} deletions acknowledged by the approving review of {who}", file=sys.stderr)
    print(count)
    return EXIT_OK
