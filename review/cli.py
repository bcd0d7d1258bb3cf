"""The command line: ``python -m review plan|guard|apply``.

    plan   Markdown plan for a pull-request comment: one row per changed user,
           totals, the deletion guard's verdict, adoptions predicted when
           ALLOY_API_KEY is set (one GET /users). --output FILE (default
           stdout); --summary FILE appends the uncut plan (a job summary).
    guard  The deletion guard alone, as text.
    apply  Preview, guard, then `pulumi up` with the same exact count, which
           the program checks again (a plan that changed is refused).
           --summary FILE as for plan.
    drift  How the Alloy account differs from --stack (read-only; exit 0 no
           drift, 4 drift, 1 failed): see ``review.drift``.

plan and guard run `pulumi preview --json` in --cwd on --stack (default: the
selected stack), or read its saved output (--preview-json FILE, - for stdin).

The limit: --max-deletes N, else alloy:maxDeletes, else the larger of 5 and
10% of the stack's users. An acknowledgement of exactly N deletions:
--allow-deletes N, else ALLOY_ALLOW_DELETES=N, else a line
`Alloy-Allow-Deletes: N` in the file given as --pr-body.

Exit status: 0 allowed (apply: pulumi up's status); 1 the preview failed
or produced no plan; 2 a usage error (a malformed count included); 3 blocked
by the deletion guard (apply changes nothing).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from providers.guard.journal import prepare_cli_run
from review import acknowledge_cli, drift
from review.adoption import NOT_NEEDED, AdoptionCheck, predict_adoption
from review.defaults import (
    EXIT_BLOCKED,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    MAX_COMMENT_CHARS,
    MAX_SUMMARY_CHARS,
)
from providers.guard.rule import AUTOMATIC_RULE
from review.guard import (
    ALLOW_DELETES_ENV,
    MAX_DELETES_CONFIG,
    Acknowledgement,
    GuardInputError,
    delete_limit,
    evaluate,
    parse_count,
    resolve_acknowledgement,
)
from review.plan import Action, Plan, PreviewFormatError, parse_preview
from review.preview import PreviewError, PreviewRun, config_get, read_preview, run_preview, up
from review.render import Review, render_markdown, render_verdict

PROGRAM = "python -m review"


def main(argv: Optional[Sequence[str]] = None, environ: Optional[Mapping[str, str]] = None) -> int:
    """Run the command line on ``argv``; return the exit status."""
    args = _parser().parse_args(argv)
    environ = os.environ if environ is None else environ
    try:
        return COMMANDS[args.command](args, environ)
    except GuardInputError as problem:
        print(f"{PROGRAM}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (PreviewError, PreviewFormatError) as problem:
        print(f"{PROGRAM}: {problem}", file=sys.stderr)
        return EXIT_FAILED


def build_review(
    run: PreviewRun,
    acknowledgement: Optional[Acknowledgement],
    *,
    max_deletes: Optional[int] = None,
    environ: Optional[Mapping[str, str]] = None,
    predict: bool = True,
    config_lookup: Optional[Callable[[str], Optional[str]]] = None,
) -> Review:
    """Parse a preview, apply the guard and, with ``predict``, the adoption check.

    The limit's ``alloy:maxDeletes`` comes from the stack config that the
    preview printed; ``config_lookup`` (``pulumi config get``) is asked only
    for a document without a config section.
    """
    plan = parse_preview(run.document, exit_status=run.exit_status, stderr=run.stderr)
    if "config" in run.document or config_lookup is None:
        configured = plan.config.get(MAX_DELETES_CONFIG)
    else:
        configured = config_lookup(MAX_DELETES_CONFIG)
    limit = delete_limit(plan.existing_users, flag=max_deletes, config_value=configured)
    verdict = None if plan.failed else evaluate(len(plan.deletions), limit, acknowledgement)
    check = AdoptionCheck(NOT_NEEDED)
    if predict and not plan.failed:
        plan, check = predict_adoption(plan, environ)
    return Review(plan, verdict, check)


def exit_status(review: Review) -> int:
    """EXIT_FAILED for a failed preview, EXIT_BLOCKED for a blocked guard, else EXIT_OK."""
    if review.plan.failed:
        return EXIT_FAILED
    if review.verdict is not None and not review.verdict.allowed:
        return EXIT_BLOCKED
    return EXIT_OK


# -- commands -------------------------------------------------------------------


def plan_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    acknowledgement = _acknowledgement(args, environ)
    try:
        review = build_review(
            _preview(args, environ), acknowledgement, max_deletes=args.max_deletes, environ=environ,
            config_lookup=_config_lookup(args, environ),
        )
    except PreviewError as problem:
        # The pull request still gets a comment saying why there is no plan.
        review = Review(Plan((), 0, 0, stack=args.stack, errors=(str(problem),)), None, AdoptionCheck(NOT_NEEDED))
    # The stack as named here (`org/prod`) keeps the comment's marker the same when the preview fails.
    review = replace(review, plan=replace(review.plan, stack=args.stack or review.plan.stack), commit=args.commit)
    _write(args.output, render_markdown(review, max_chars=MAX_COMMENT_CHARS))
    if args.summary:
        _write(args.summary, render_markdown(review, max_chars=MAX_SUMMARY_CHARS), append=True)
    print(render_verdict(review), file=sys.stderr)
    return exit_status(review)


def guard_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    acknowledgement = _acknowledgement(args, environ)
    review = build_review(
        _preview(args, environ), acknowledgement, max_deletes=args.max_deletes, environ=environ,
        predict=False, config_lookup=_config_lookup(args, environ),
    )
    print(render_verdict(review))
    return exit_status(review)


def apply_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Preview, guard, then ``pulumi up``. The program applies the same
    guard again at ``up`` time with the same acknowledgement (an exact
    count), so a plan that changed since the preview (more deletions) is
    refused there too: no saved update plan is needed."""
    acknowledgement = _acknowledgement(args, environ)
    run = run_preview(args.cwd, stack=args.stack, env=environ)
    review = build_review(
        run, acknowledgement, max_deletes=args.max_deletes, environ=environ, predict=bool(args.summary),
    )
    if args.summary:
        _write(args.summary, render_markdown(review, max_chars=MAX_SUMMARY_CHARS), append=True)
    print(render_verdict(review), flush=True)
    status = exit_status(review)
    if status != EXIT_OK:
        return status
    up_env = dict(environ)
    if acknowledgement is not None and review.verdict is not None and review.verdict.acknowledged:
        # The program's own guard needs the same exact count.
        up_env[ALLOW_DELETES_ENV] = str(acknowledgement.count)
    # Checkpoint-free on file:// and s3:// backends, made exact by the create
    # journal (providers/guard/journal.py; README, "Performance").
    creates = [change.username for change in review.plan.changes if change.action is Action.CREATE]
    journaled, why, finish = prepare_cli_run(args.cwd, args.stack, creates, up_env)
    print(f"apply: checkpoints skipped, {why}" if journaled else f"apply: checkpoints on ({why})", flush=True)
    if journaled is not None:
        up_env.update(journaled.env)
    try:
        return up(args.cwd, stack=args.stack, env=up_env)
    finally:
        finish(journaled)


COMMANDS: dict[str, Callable[[argparse.Namespace, Mapping[str, str]], int]] = {
    "plan": plan_command,
    "guard": guard_command,
    "apply": apply_command,
}


# -- helpers --------------------------------------------------------------------


def _preview(args: argparse.Namespace, environ: Mapping[str, str]) -> PreviewRun:
    if args.preview_json:
        return read_preview(args.preview_json)
    return run_preview(args.cwd, stack=args.stack, env=environ)


def _config_lookup(args: argparse.Namespace, environ: Mapping[str, str]) -> Callable[[str], Optional[str]]:
    return lambda key: config_get(key, args.cwd, stack=args.stack, env=environ)


def _acknowledgement(args: argparse.Namespace, environ: Mapping[str, str]) -> Optional[Acknowledgement]:
    body = None
    if args.pr_body:
        try:
            body = Path(args.pr_body).read_text(encoding="utf-8", errors="replace")
        except OSError as problem:
            raise GuardInputError(f"cannot read --pr-body {args.pr_body}: {problem.strerror}") from None
    return resolve_acknowledgement(args.allow_deletes, environ, body)


def _write(path: Optional[str], text: str, *, append: bool = False) -> None:
    if not path or path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(path, "a" if append else "w", encoding="utf-8") as out:
        out.write(text)


def _non_negative(text: str) -> int:
    try:
        return parse_count(text, "--max-deletes")
    except GuardInputError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{plan,guard,apply}")
    helps = {
        "plan": "Markdown plan for a pull-request comment, with the deletion guard",
        "guard": "the deletion guard alone (exit 3 when blocked)",
        "apply": "preview, guard, then `pulumi up` of exactly the guarded plan",
    }
    for name, text in helps.items():
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--stack", help="the stack (default: the selected one)")
        sub.add_argument("--cwd", default=".", help="the Pulumi project's folder (default: .)")
        sub.add_argument("--max-deletes", type=_non_negative, metavar="N",
                         help=f"deletions allowed without acknowledgement (default: {MAX_DELETES_CONFIG}, "
                              f"else {AUTOMATIC_RULE.replace('%', '%%')})")
        sub.add_argument("--allow-deletes", metavar="N",
                         help="acknowledge exactly N deletions (also ALLOY_ALLOW_DELETES=N)")
        sub.add_argument("--pr-body", metavar="FILE",
                         help="a pull request description; a line 'Alloy-Allow-Deletes: N' acknowledges N")
        if name != "apply":
            sub.add_argument("--preview-json", metavar="FILE",
                             help="read this saved `pulumi preview --json` output (- for stdin) instead of running it")
        if name == "plan":
            sub.add_argument("--output", metavar="FILE", help="write the comment here (default: stdout)")
            sub.add_argument("--commit", metavar="SHA", help="the commit the plan is of, shown in its title")
        if name != "guard":
            sub.add_argument("--summary", metavar="FILE", help="append the uncut Markdown plan (a job summary)")
    acknowledge_cli.register(commands, COMMANDS)
    drift.register(commands, COMMANDS)
    return parser
