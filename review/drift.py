"""``python -m review drift``: how the Alloy account differs from a stack.

    python -m review drift --stack S [--cwd DIR] [--output FILE]

Read-only: it changes neither Alloy nor the state. It reads the stack's
``AlloyUser`` resources with ``pulumi stack export`` (no secret is
decrypted), the stack's non-secret settings with ``pulumi config --json``
(``alloy:baseUrl`` and the other client settings, ``alloy:manifest``), and
the account's users with ONE list pass of ``GET /users`` (the client follows
pages); never a ``GET`` per user. The key comes from ``ALLOY_API_KEY`` only,
never from the stack's secrets (as for the plan's adoption check).

Users are matched by userId. What counts as drift:

- ``deleted``: in the state, not in Alloy (deleted outside Pulumi);
- ``renamed``: Alloy's username is not the one the stack set;
- ``fullName``: Alloy's fullName is not the one the stack set; a user whose
  fullName the manifest does not manage (no ``fullName`` input) never has
  this drift;
- ``unmanaged``: in Alloy, in no resource of the stack, and not declared by
  the stack's manifest.

A user in Alloy that no resource holds but that the manifest declares is
*planned*, not drift: the next ``pulumi up`` adopts it. The report lists
those apart.

The report is Markdown (usernames and names shown literally, as in the plan
comment), its first line the marker ``<!-- alloy-users-drift stack=S -->``
by which the drift workflow finds its issue; it holds no time or run id, so
the same drift gives the same report. It goes to ``--output`` (default
stdout) whether or not there is drift; a one-line summary goes to stderr.

Exit status: 0 no drift; 4 drift found; 1 the check failed (no key, the API
unreachable or refusing the key, no such stack, ...: no report is written);
2 a usage error.
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from providers.alloy.client import AlloyClient, AlloyUserRecord
from providers.alloy.errors import AlloyConfigError, AlloyError
from providers.alloy.settings import API_KEY, API_KEY_ENV, MANIFEST, read_settings
from providers.manifest import ManifestError, load_manifest
from providers.manifest.identity import username_key
from providers.pulumi_cli import PulumiCliError, pulumi_json
from review.markdown import code, table

NAME = "drift"
USER_TYPE = "pulumi-python:dynamic/alloy:User"
DRIFT_MARKER = "<!-- alloy-users-drift -->"
API_KEY_CONFIG, MANIFEST_CONFIG, DEFAULT_MANIFEST = API_KEY.key, MANIFEST.key, MANIFEST.default
PULUMI_TIMEOUT_S = 600.0
COLLAPSE_ABOVE_ROWS = 10
# The workflow appends the report to the job summary (1 MiB at most) and cuts
# it for the issue (review.drift_issue).
MAX_REPORT_CHARS = 1_000_000
MAX_PLANNED_SHOWN = 50

EXIT_NO_DRIFT = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DRIFT = 4

Handler = Callable[[argparse.Namespace, Mapping[str, str]], int]


class DriftError(RuntimeError):
    """The check could not be made; the message says why (never the key)."""


class Kind(enum.Enum):
    """A kind of drift, in the order the report lists them."""

    DELETED = "deleted"
    RENAMED = "renamed"
    FULL_NAME = "fullName"
    UNMANAGED = "unmanaged"


@dataclass(frozen=True)
class StateUser:
    """One ``AlloyUser`` of the state. ``username`` and ``full_name`` are what
    the stack set (its inputs; the outputs where an input is absent);
    ``full_name_managed`` is False when the manifest leaves fullName alone."""

    name: str
    user_id: str
    username: str
    full_name: Optional[str]
    full_name_managed: bool
    adopted: bool = False


@dataclass(frozen=True)
class Finding:
    """One drifted user. ``expected`` is the stack's value and ``actual``
    Alloy's (both None for a deletion or an unmanaged user); ``replaced_by``
    is the userId of a user that now holds a deleted user's username."""

    kind: Kind
    username: Optional[str]
    user_id: str
    expected: Optional[str] = None
    actual: Optional[str] = None
    replaced_by: Optional[str] = None


@dataclass(frozen=True)
class DriftReport:
    """The comparison of one stack with the account."""

    stack: str
    findings: tuple[Finding, ...]
    planned: tuple[AlloyUserRecord, ...]
    state_users: int
    alloy_users: int
    in_sync: int
    manifest: Optional[str] = None
    manifest_problem: Optional[str] = None

    @property
    def drifted(self) -> bool:
        return bool(self.findings)

    def count(self, kind: Kind) -> int:
        return sum(1 for finding in self.findings if finding.kind is kind)


# -- reading --------------------------------------------------------------------


def state_users(document: Any) -> list[StateUser]:
    """The ``AlloyUser`` resources of a ``pulumi stack export`` document.

    Resources pending deletion, and any without a userId (a create whose
    outcome was not recorded), are left out. Raises ``DriftError`` for a
    document that is not an export.
    """
    deployment = document.get("deployment") if isinstance(document, dict) else None
    if not isinstance(deployment, dict):
        raise DriftError("`pulumi stack export` printed no deployment")
    users = []
    for resource in deployment.get("resources") or []:
        if not isinstance(resource, dict) or resource.get("type") != USER_TYPE or resource.get("delete"):
            continue
        inputs = resource.get("inputs") or {}
        outputs = resource.get("outputs") or {}
        user_id = outputs.get("userId") or resource.get("id")
        username = _plain(inputs.get("username", outputs.get("username")))
        if not isinstance(user_id, str) or not user_id or username is None:
            continue
        managed = "fullName" in inputs and inputs["fullName"] is not None
        full_name = _plain(inputs["fullName"]) if managed else _plain(outputs.get("fullName"))
        users.append(
            StateUser(
                name=str(resource.get("urn", "")).rsplit("::", 1)[-1],
                user_id=user_id,
                username=username,
                full_name=full_name,
                full_name_managed=managed and full_name is not None,
                adopted=outputs.get("adopted") is True,
            )
        )
    return users


def _plain(value: Any) -> Optional[str]:
    """A string value; None for anything else (a secret's ciphertext object)."""
    return value if isinstance(value, str) else None


# -- comparing ------------------------------------------------------------------


def compare(
    stack: str,
    state: Sequence[StateUser],
    alloy: Sequence[AlloyUserRecord],
    declared: Optional[set[str]] = None,
    *,
    manifest: Optional[str] = None,
    manifest_problem: Optional[str] = None,
) -> DriftReport:
    """Compare the state's users with Alloy's (one list). ``declared`` holds
    the ``username_key`` of each username the manifest declares (None: the
    manifest was not read, so nothing counts as planned)."""
    by_id = {user.user_id: user for user in alloy}
    in_state = {user.user_id for user in state}
    unheld = [user for user in alloy if user.user_id not in in_state]
    unheld_by_name = {username_key(user.username): user for user in unheld if user.username}
    findings: list[Finding] = []
    replacements: set[str] = set()
    in_sync = 0
    for user in state:
        current = by_id.get(user.user_id)
        if current is None:
            successor = unheld_by_name.get(username_key(user.username))
            if successor is not None:
                replacements.add(successor.user_id)
            findings.append(
                Finding(Kind.DELETED, user.username, user.user_id,
                        replaced_by=successor.user_id if successor is not None else None)
            )
            continue
        drifted = False
        if current.username != user.username:
            findings.append(Finding(Kind.RENAMED, user.username, user.user_id, user.username, current.username))
            drifted = True
        if user.full_name_managed and current.full_name != user.full_name:
            findings.append(Finding(Kind.FULL_NAME, user.username, user.user_id, user.full_name, current.full_name))
            drifted = True
        in_sync += not drifted
    planned = []
    for user in unheld:
        if user.user_id in replacements:
            continue
        if declared is not None and user.username and username_key(user.username) in declared:
            planned.append(user)
        else:
            findings.append(Finding(Kind.UNMANAGED, user.username, user.user_id, actual=user.full_name))
    order = list(Kind)
    findings.sort(key=lambda f: (order.index(f.kind), (f.username or "").casefold(), f.username or "", f.user_id))
    planned.sort(key=lambda u: ((u.username or "").casefold(), u.username or "", u.user_id))
    return DriftReport(
        stack=stack, findings=tuple(findings), planned=tuple(planned), state_users=len(state),
        alloy_users=len(alloy), in_sync=in_sync, manifest=manifest, manifest_problem=manifest_problem,
    )


# -- rendering ------------------------------------------------------------------


def marker(stack: str) -> str:
    """The report's first line: the same for every report of one stack."""
    return DRIFT_MARKER.replace(" -->", f" stack={stack or 'default'} -->")


def render_markdown(report: DriftReport, *, max_chars: int = MAX_REPORT_CHARS) -> str:
    """The report as Markdown of at most about ``max_chars`` characters (rows
    are dropped from the end, with a line saying how many, only past that)."""
    rows = [_row(finding, report) for finding in report.findings]
    head = [
        marker(report.stack),
        f"### Alloy users drift for stack {code(report.stack or 'default', in_table=False)}",
        "",
        f"**{_totals(report)}**",
        "",
        _counts(report),
        "",
    ]
    tail = _planned(report) + _advice(report) + _footer(report)
    shown = len(rows)
    while True:
        body = "\n".join([*head, *_table(rows[:shown], len(rows)), *_missing(len(rows) - shown), *tail]) + "\n"
        if len(body) <= max_chars or shown == 0:
            return body
        shown = max(0, shown - max(1, (len(body) - max_chars) // 60))


def summary_line(report: DriftReport) -> str:
    """One line for a terminal or a CI log."""
    return f"drift of stack {report.stack}: {_totals(report)}"


_LABELS = {
    Kind.DELETED: "deleted outside Pulumi",
    Kind.RENAMED: "renamed outside Pulumi",
    Kind.FULL_NAME: "fullName changed outside Pulumi",
    Kind.UNMANAGED: "unmanaged",
}


def _totals(report: DriftReport) -> str:
    if not report.drifted:
        return "No drift."
    parts = [f"{report.count(kind)} {_LABELS[kind]}" for kind in Kind if report.count(kind)]
    return "Drift: " + ", ".join(parts) + "."


def _counts(report: DriftReport) -> str:
    users = "user" if report.state_users == 1 else "users"
    text = (
        f"{report.in_sync} of the stack's {report.state_users} {users} match Alloy; "
        f"the account has {report.alloy_users} user{'' if report.alloy_users == 1 else 's'}"
    )
    if report.planned:
        text += f", {len(report.planned)} of them declared in the manifest but not applied yet"
    return text + "."


def _row(finding: Finding, report: DriftReport) -> tuple[str, str, str, str]:
    user = code(finding.username) if finding.username is not None else "(no username)"
    if finding.kind is Kind.DELETED:
        details = "in the stack, gone from Alloy"
        if finding.replaced_by:
            details += f"; another user (userId {code(finding.replaced_by)}) now has this username"
    elif finding.kind is Kind.RENAMED:
        actual = code(finding.actual) if finding.actual is not None else "no username"
        details = f"Alloy has {actual}"
    elif finding.kind is Kind.FULL_NAME:
        details = f"{_quoted(finding.expected)} in the stack, {_quoted(finding.actual)} in Alloy"
    else:
        where = f"the stack or {code(report.manifest)}" if report.manifest else "the stack"
        details = f"in Alloy, not in {where}"
        if finding.actual is not None:
            details += f"; fullName {_quoted(finding.actual)}"
    return (code(finding.kind.value), user, code(finding.user_id), details)


def _quoted(value: Optional[str]) -> str:
    return code(json.dumps(value, ensure_ascii=False)) if value is not None else "(unset)"


def _table(rows: list[tuple[str, str, str, str]], total: int) -> list[str]:
    if not rows:
        return []
    markdown = table(("drift", "user", "userId", "details"), rows)
    if total <= COLLAPSE_ABOVE_ROWS:
        return [markdown, ""]
    return [f"<details><summary>Show all {total} drifted users</summary>", "", markdown, "", "</details>", ""]


def _missing(count: int) -> list[str]:
    if count <= 0:
        return []
    return [f"_{count} more rows are left out to keep the report within GitHub's limits._", ""]


def _planned(report: DriftReport) -> list[str]:
    lines = []
    if report.manifest_problem:
        lines += [f"_Note:_ the manifest could not be read ({code(report.manifest_problem, in_table=False)}), "
                  "so every user that no resource holds counts as unmanaged.", ""]
    if not report.planned:
        return lines
    names = [code(user.username or "", in_table=False) for user in report.planned[:MAX_PLANNED_SHOWN]]
    more = len(report.planned) - len(names)
    listed = ", ".join(names) + (f" and {more} more" if more > 0 else "")
    manifest = code(report.manifest or DEFAULT_MANIFEST, in_table=False)
    return lines + [
        f"_Not drift:_ {len(report.planned)} user{'s' if len(report.planned) != 1 else ''} of Alloy that "
        f"{manifest} declares but the stack does not hold yet; the next `pulumi up` adopts them: {listed}.",
        "",
    ]


def _advice(report: DriftReport) -> list[str]:
    if not report.drifted:
        return []
    advice = []
    if report.count(Kind.DELETED) or report.count(Kind.RENAMED) or report.count(Kind.FULL_NAME):
        advice.append(
            "To put the stack's values back: `pulumi refresh`, then `pulumi up` (a deleted user is created "
            "again, with a new userId). To keep a change made in Alloy instead, change the manifest to match "
            "(a rename: the new username, with the old one under `previousUsernames`)."
        )
    if report.count(Kind.UNMANAGED):
        advice.append(
            "An unmanaged user is left alone by every run: declare it in the manifest "
            "(`python -m providers.manifest pull` adds every missing user), or delete it in Alloy."
        )
    return ["**How to resolve:**", "", *[f"- {text}" for text in advice], ""]


def _footer(report: DriftReport) -> list[str]:
    return ["_Read-only check: the stack's state and one list pass of `GET /users`; nothing was changed._"]


# -- the command ----------------------------------------------------------------


def register(commands: Any, handlers: dict[str, Handler]) -> None:
    """Add ``drift`` to ``commands`` (argparse subparsers) and its handler to ``handlers``."""
    text = "report how the Alloy account differs from the stack (read-only; exit 4 on drift)"
    sub = commands.add_parser(NAME, help=text, description=text)
    sub.add_argument("--stack", required=True, help="the stack to compare with the account")
    sub.add_argument("--cwd", default=".", help="the Pulumi project's folder (default: .)")
    sub.add_argument("--output", metavar="FILE", help="write the Markdown report here (default: stdout)")
    handlers[NAME] = run


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Run ``drift``; return the exit status."""
    try:
        report = check_drift(args.stack, args.cwd, environ)
    except (DriftError, AlloyError) as problem:
        print(f"python -m review {NAME}: {problem}", file=sys.stderr)
        return EXIT_FAILED
    text = render_markdown(report)
    try:
        _write(args.output, text)
    except OSError as problem:
        print(f"python -m review {NAME}: cannot write {args.output}: {problem.strerror or problem}", file=sys.stderr)
        return EXIT_FAILED
    print(summary_line(report), file=sys.stderr)
    return EXIT_DRIFT if report.drifted else EXIT_NO_DRIFT


def check_drift(stack: str, cwd: str | os.PathLike[str], environ: Mapping[str, str]) -> DriftReport:
    """Read the state, the config, the manifest and Alloy's users; compare them.

    Raises ``DriftError`` or ``AlloyError`` when the check cannot be made.
    """
    config = _stack_config(stack, cwd, environ)
    if not environ.get(API_KEY_ENV, "").strip():
        raise AlloyConfigError(f"no Alloy API key: set {API_KEY_ENV} (drift never reads the stack's secrets)")
    settings = read_settings(lambda key: None if key == API_KEY_CONFIG else config.get(key), environ)
    state = state_users(_pulumi_json(["stack", "export", "--stack", stack], cwd, environ))
    manifest_name = str(config.get(MANIFEST_CONFIG) or DEFAULT_MANIFEST)
    declared: Optional[set[str]] = None
    problem = None
    try:
        manifest = load_manifest(Path(cwd) / manifest_name)
        declared = {username_key(user.username) for user in manifest.users}
    except ManifestError as invalid:
        problem = str(invalid).splitlines()[0]
    client = AlloyClient(settings.client)
    try:
        alloy = client.list_users()
    finally:
        client.close()
    return compare(stack, state, alloy, declared, manifest=manifest_name, manifest_problem=problem)


def _stack_config(stack: str, cwd: str | os.PathLike[str], environ: Mapping[str, str]) -> dict[str, Any]:
    """The stack's config values, secrets left out (``pulumi config --json``)."""
    document = _pulumi_json(["config", "--json", "--stack", stack], cwd, environ)
    if not isinstance(document, dict):
        raise DriftError(f"`pulumi config --json --stack {stack}` did not print a JSON object")
    return {
        key: entry["value"]
        for key, entry in document.items()
        if isinstance(entry, dict) and "value" in entry and not entry.get("secret")
    }


def _pulumi_json(args: list[str], cwd: str | os.PathLike[str], environ: Mapping[str, str]) -> Any:
    try:
        return pulumi_json(args, cwd, environ, timeout=PULUMI_TIMEOUT_S)
    except PulumiCliError as problem:
        raise DriftError(str(problem)) from None


def _write(path: Optional[str], text: str) -> None:
    if not path or path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def main(argv: Optional[Sequence[str]] = None, environ: Optional[Mapping[str, str]] = None) -> int:
    """``python -m review.drift ...``: the same as ``python -m review drift ...``."""
    parser = argparse.ArgumentParser(prog="python -m review")
    commands = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Handler] = {}
    register(commands, handlers)
    args = parser.parse_args([NAME, *(sys.argv[1:] if argv is None else argv)])
    return handlers[NAME](args, os.environ if environ is None else environ)


if __name__ == "__main__":
    sys.exit(main())
