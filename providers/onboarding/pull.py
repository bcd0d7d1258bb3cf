"""``python -m providers.manifest pull``: write the account's users into a manifest.

    python -m providers.manifest pull [--output FILE] [--stack S] [--cwd DIR]
                                      [--base-url URL] [--dry-run]

Reads every user of the account with one list pass of ``GET /users`` (the
client follows pages) and nothing else: it never writes to Alloy.

- Without ``--output FILE`` (default ``users.yaml``; with ``--stack``, the
  stack's ``alloy:manifest`` under ``--cwd``) existing, a new manifest of
  every user is written.
- With an existing file, it is merged: its entries and comments stay as they
  are, users it lacks are appended, and the whole is formatted canonically
  (``providers.manifest.fmt``, which keeps comments; a file already in
  canonical form keeps every existing line). Entries that Alloy lacks are
  reported on stderr, never removed. When nothing is to be added the file is
  not touched at all, so a second pull is byte-identical.
- A user without a username, or whose username the manifest's validator
  refuses (control characters, surrounding blanks, a name that differs from
  another only in letter case, ...), is reported on stderr and skipped. A
  ``fullName`` the validator refuses, or one with surrounding blanks (the
  manifest trims them, so adoption would rewrite it), is left out: the entry
  then leaves the name alone in Alloy.
- The result must pass ``check`` and ``fmt --check``; it is written
  atomically (a temporary file beside it, then a rename).
- ``--dry-run`` writes nothing and prints the unified diff on stdout.

Where the endpoint and key come from, as the program reads them: with
``--stack S``, the stack's config (``pulumi config --json``, which shows no
secret; ``alloy:baseUrl``, ``alloy:timeoutSeconds``, ``alloy:maxRetries``,
``alloy:caBundle``) and its key ``alloy:apiKey`` (decrypted alone with
``pulumi config get``, held in memory, never printed), falling back to
``ALLOY_API_KEY``; without ``--stack``, ``ALLOY_API_KEY`` and the production
URL. ``--base-url`` overrides the URL either way.

Exit status: 0 the manifest was written, or is already up to date, or (with
``--dry-run``) would be; skipped users and entries missing from Alloy are
reported but do not fail the run. 1 a problem: the API failed or refused the
key, the existing file is not a valid manifest, no user could be written,
the file could not be written. 2 a usage error.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from providers.alloy.client import DEFAULT_BASE_URL, AlloyClient, AlloyUserRecord, ClientSettings
from providers.alloy.errors import AlloyConfigError, AlloyError
from providers.alloy.settings import API_KEY, API_KEY_ENV, BASE_URL, MANIFEST, read_settings
from providers.manifest.fmt import FormatError, format_manifest, schema_modeline
from providers.manifest.loader import DEFAULT_MANIFEST_PATH, Manifest, ManifestError, parse_manifest, read_manifest_text
from providers.manifest.identity import username_key
from providers.pulumi_cli import PulumiCliError, pulumi_json, run_pulumi

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2

PULUMI_TIMEOUT_S = 120.0
API_KEY_CONFIG, BASE_URL_CONFIG, MANIFEST_CONFIG = API_KEY.key, BASE_URL.key, MANIFEST.key
NEW_FILE_HEADER = "version: 1\nusers:\n"
# Rounds of "validate, drop what the validator refuses": each round drops at
# least one entry, and a refusal that outlives this many is a bug to report.
MAX_VALIDATION_ROUNDS = 20
_POINTER = re.compile(r"\Ausers\[(\d+)\](?:\.(\w+))?")


class PullError(Exception):
    """The pull cannot produce a manifest; the message says why."""


@dataclass(frozen=True)
class Skipped:
    """An Alloy user left out of the manifest, and why."""

    user_id: str
    username: str | None
    reason: str


@dataclass(frozen=True)
class PullResult:
    """What a pull would write. ``text`` is the new manifest (``previous``
    when nothing changes); ``added`` the users appended, as written (a
    ``full_name`` of None: left unmanaged); ``declared`` how many Alloy users
    the manifest already has; ``notes`` per-user remarks (a fullName left
    out); ``missing`` the manifest's entries that Alloy does not have."""

    text: str
    previous: str | None
    added: tuple[AlloyUserRecord, ...]
    declared: int
    skipped: tuple[Skipped, ...]
    notes: tuple[str, ...]
    missing: tuple[tuple[str, int], ...]
    total: int

    @property
    def changed(self) -> bool:
        return self.text != self.previous


@dataclass
class _Candidate:
    record: AlloyUserRecord
    full_name: str | None
    notes: list[str] = field(default_factory=list)


# -- the merge (no I/O) ---------------------------------------------------------


def merge_users(
    records: Sequence[AlloyUserRecord],
    existing: str | None,
    path: str = DEFAULT_MANIFEST_PATH,
    *,
    parsed: Manifest | None = None,
) -> PullResult:
    """Merge Alloy's ``records`` into the manifest text ``existing`` (None: no
    file yet); ``parsed`` is ``existing`` already parsed, if the caller has it.

    Raises ``ManifestError`` when ``existing`` is not a valid manifest,
    ``PullError`` when there is nothing to write (no file and no user that a
    manifest can hold) and ``FormatError`` when formatting fails.
    """
    manifest = parsed
    if manifest is None and existing is not None:
        manifest = parse_manifest(existing, path)
    entries = manifest.users if manifest is not None else ()
    current = {username_key(user.username): user.username for user in entries}
    previous = {username_key(old): user.username for user in entries for old in user.previous_usernames}
    alloy_names = {username_key(record.username) for record in records if record.username}

    skipped: list[Skipped] = []
    candidates: list[_Candidate] = []
    declared = 0
    for record in records:
        name = record.username
        if name is None or name == "":
            skipped.append(Skipped(record.user_id, name, "it has no username"))
            continue
        key = username_key(name)
        if current.get(key) == name:
            declared += 1
        elif key in current:
            skipped.append(Skipped(record.user_id, name, f"the manifest has {shown(current[key])}, which differs only in letter case"))
        elif key in previous:
            declared += 1  # a rename in the manifest that is not applied yet
        else:
            candidates.append(_candidate(record))

    missing = tuple(
        (user.username, user.line)
        for user in entries
        if username_key(user.username) not in alloy_names and not any(username_key(old) in alloy_names for old in user.previous_usernames)
    )
    if not candidates:
        if existing is None:
            raise PullError(_nothing_to_write(len(records), skipped))
        return PullResult(existing, existing, (), declared, tuple(skipped), (), missing, len(records))

    modeline = schema_modeline(path)
    base = NEW_FILE_HEADER if existing is None else format_manifest(existing, path, modeline=modeline)
    known = len(entries)
    for _round in range(MAX_VALIDATION_ROUNDS):
        if not candidates:
            break
        text = insert_entries(base, [_entry_text(candidate) for candidate in candidates])
        try:
            result = format_manifest(text, path, modeline=modeline)
        except ManifestError as invalid:
            candidates = _drop_refused(invalid, candidates, known, skipped)
            continue
        added = tuple(replace(c.record, full_name=c.full_name) for c in candidates)
        notes = tuple(note for c in candidates for note in c.notes)
        return PullResult(result, existing, added, declared, tuple(skipped), notes, missing, len(records))
    if candidates:
        raise PullError("the validator kept refusing the pulled entries; please report this as a bug")
    if existing is None:
        raise PullError(_nothing_to_write(len(records), skipped))
    return PullResult(existing, existing, (), declared, tuple(skipped), (), missing, len(records))


def _candidate(record: AlloyUserRecord) -> _Candidate:
    full_name = record.full_name
    candidate = _Candidate(record, full_name)
    if full_name is not None and not full_name.strip():
        candidate.full_name = None  # an empty name is no name: nothing to manage
    elif full_name is not None and full_name != full_name.strip():
        candidate.full_name = None
        candidate.notes.append(
            f"{shown(record.username or '')}: fullName {shown(full_name)} has surrounding blanks, which the "
            "manifest trims; left out, so the name stays as it is in Alloy"
        )
    return candidate


def _drop_refused(
    invalid: ManifestError, candidates: list[_Candidate], known: int, skipped: list[Skipped]
) -> list[_Candidate]:
    """The candidates left once those the validator refused are dropped (or,
    for a refused fullName, lose it). Raises ``invalid`` again when a problem
    is not about an appended entry: that is not the account's data at fault."""
    drop: dict[int, list[str]] = {}
    names: dict[int, list[str]] = {}
    for problem in invalid.problems:
        match = _POINTER.match(problem.pointer)
        index = int(match.group(1)) - known if match else -1
        if not 0 <= index < len(candidates):
            raise invalid
        (names if match and match.group(2) == "fullName" else drop).setdefault(index, []).append(problem.reason)
    kept = []
    for index, candidate in enumerate(candidates):
        record = candidate.record
        if index in drop:
            skipped.append(Skipped(record.user_id, record.username, "; ".join(drop[index])))
            continue
        if index in names:
            candidate.notes.append(
                f"{shown(record.username or '')}: fullName {shown(candidate.full_name or '')} "
                f"{'; '.join(names[index])}; left out, so the name stays as it is in Alloy"
            )
            candidate.full_name = None
        kept.append(candidate)
    return kept


def _nothing_to_write(total: int, skipped: list[Skipped]) -> str:
    if not total:
        return "the account has no users: there is nothing to write"
    return f"none of the account's {total} users can be written to a manifest ({len(skipped)} skipped)"


def insert_entries(canonical: str, entries: Sequence[str]) -> str:
    """``canonical`` (a manifest in canonical form, whose ``users`` list is
    its last key) with ``entries`` appended to that list, before any comment
    lines that end the file (so that they stay where they are)."""
    block = "".join(entries)
    lines = canonical.splitlines(keepends=True)
    for number, line in enumerate(lines):
        if line.startswith("users: []"):  # allowEmpty with no users
            lines[number] = "users:" + line[len("users: []"):]
            return "".join(lines[: number + 1]) + block + "".join(lines[number + 1 :])
    last = max(
        (number for number, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")),
        default=len(lines) - 1,
    )
    head = "".join(lines[: last + 1])
    if head and not head.endswith("\n"):
        head += "\n"
    return head + block + "".join(lines[last + 1 :])


def _entry_text(candidate: _Candidate) -> str:
    text = f"  - username: {yaml_quoted(candidate.record.username or '')}\n"
    if candidate.full_name is not None:
        text += f"    fullName: {yaml_quoted(candidate.full_name)}\n"
    return text


def yaml_quoted(value: str) -> str:
    """``value`` as a YAML double-quoted scalar that reads back exactly:
    every character that YAML does not allow as it is, or that a reader
    might treat as a line break or a byte order mark, is escaped."""
    out = []
    for ch in value:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif 0x20 <= code <= 0x7E or (0xA0 <= code <= 0xFFFD and not _escaped_in_yaml(code)) or code >= 0x10000:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:  # pragma: no cover - covered by the branch above
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _escaped_in_yaml(code: int) -> bool:
    # Surrogates are not characters; U+2028/U+2029 are line breaks to YAML 1.1
    # readers; U+FEFF is a byte order mark.
    return 0xD800 <= code <= 0xDFFF or code in (0x2028, 0x2029, 0xFEFF)


def shown(text: str) -> str:
    """``text`` quoted for a terminal: ``repr``, with invisible format
    characters (bidi controls, zero-width ones) escaped too."""
    inner = "".join(
        f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cf", "Zl", "Zp") else ch for ch in repr(text)[1:-1]
    )
    quote = repr(text)[0]
    return f"{quote}{inner}{quote}"


# -- settings -------------------------------------------------------------------


@dataclass(frozen=True)
class StackConfig:
    """``pulumi config --json`` of a stack (no secret values) and a way to
    decrypt the one secret that pull needs."""

    values: Mapping[str, Any]
    secret_keys: frozenset[str]
    get_secret: Callable[[str], str | None]


def read_stack_config(stack: str, cwd: str, environ: Mapping[str, str]) -> StackConfig:
    """The config of ``stack`` (in the project folder ``cwd``); raises ``PullError``."""
    document = _pulumi_json(["config", "--json", "--stack", stack], cwd, environ)
    if not isinstance(document, dict):
        raise PullError(f"`pulumi config --json --stack {stack}` did not print a JSON object")
    values = {key: entry.get("value") for key, entry in document.items() if isinstance(entry, dict) and "value" in entry}
    secrets = frozenset(key for key, entry in document.items() if isinstance(entry, dict) and entry.get("secret"))

    def get_secret(key: str) -> str | None:
        result = _pulumi(["config", "get", key, "--stack", stack], cwd, environ)
        return result.stdout.rstrip("\n") if result.returncode == 0 else None

    return StackConfig(values, secrets, get_secret)


def client_settings(
    config: StackConfig | None, base_url: str | None, environ: Mapping[str, str]
) -> ClientSettings:
    """The ``ClientSettings`` of the run: the stack's settings (its key first,
    as the program reads it, then ``ALLOY_API_KEY``), ``base_url`` over the
    stack's URL, the production URL when neither says."""
    values: dict[str, Any] = dict(config.values) if config is not None else {}
    values.pop(API_KEY_CONFIG, None)
    if config is not None and API_KEY_CONFIG in config.values:
        raise AlloyConfigError(
            f"{API_KEY_CONFIG} is stored in plain text in the stack's config file; "
            f"store it encrypted with `pulumi config set --secret {API_KEY_CONFIG} <key>`"
        )
    if config is not None and API_KEY_CONFIG in config.secret_keys:
        key = config.get_secret(API_KEY_CONFIG)
        if not key:
            raise AlloyConfigError(f"could not decrypt {API_KEY_CONFIG} (check the stack's secrets provider)")
        values[API_KEY_CONFIG] = key
    if base_url:
        values[BASE_URL_CONFIG] = base_url
    values.setdefault(BASE_URL_CONFIG, DEFAULT_BASE_URL)
    settings = read_settings(values.get, environ).client
    if not settings.api_key:
        raise AlloyConfigError(
            f"no Alloy API key: set {API_KEY_ENV}"
            + (f", or use a stack whose {API_KEY_CONFIG} is set (--stack)" if config is None else f" or {API_KEY_CONFIG}")
        )
    return settings


def _pulumi(args: list[str], cwd: str, environ: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return run_pulumi(args, cwd, environ, timeout=PULUMI_TIMEOUT_S)
    except PulumiCliError as problem:
        raise PullError(f"{problem}; --stack needs the Pulumi CLI") from None


def _pulumi_json(args: list[str], cwd: str, environ: Mapping[str, str]) -> Any:
    try:
        return pulumi_json(args, cwd, environ, timeout=PULUMI_TIMEOUT_S)
    except PulumiCliError as problem:
        raise PullError(str(problem)) from None


# -- the command ----------------------------------------------------------------


NAME = "pull"


def add_parser(commands: Any) -> None:
    """Register ``pull`` on the ``add_subparsers()`` object of the manifest CLI."""
    text = "write the account's users into a manifest (read-only: one GET /users pass)"
    sub = commands.add_parser("pull", help=text, description=text)
    sub.add_argument("--output", metavar="FILE",
                     help=f"the manifest to write or merge into (default: {DEFAULT_MANIFEST_PATH}; with --stack, "
                          f"the stack's {MANIFEST_CONFIG} under --cwd)")
    sub.add_argument("--stack", help="read alloy:baseUrl, the other client settings and alloy:apiKey from this stack")
    sub.add_argument("--cwd", default=".", help="the Pulumi project's folder, for --stack (default: .)")
    sub.add_argument("--base-url", metavar="URL",
                     help=f"the Alloy API root (default: the stack's {BASE_URL_CONFIG}, else {DEFAULT_BASE_URL})")
    sub.add_argument("--dry-run", action="store_true", help="write nothing; print the diff of what would change")


def run(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    """Run ``pull`` with parsed ``args``; return the exit status."""
    environ = os.environ if environ is None else environ
    output = args.output or DEFAULT_MANIFEST_PATH
    try:
        config = read_stack_config(args.stack, args.cwd, environ) if args.stack else None
        output = args.output or _default_output(config, args.cwd)
        settings = client_settings(config, args.base_url, environ)
        existing = _read_existing(output)
        # Validate before any call: an invalid file fails without touching the API.
        parsed = parse_manifest(existing, output) if existing is not None else None
        client = AlloyClient(settings)
        try:
            records = client.list_users()
        finally:
            client.close()
        result = merge_users(records, existing, output, parsed=parsed)
    except ManifestError as invalid:
        _say(f"{output} is not a valid manifest, so nothing was pulled into it:\n{invalid}")
        return EXIT_PROBLEM
    except (AlloyError, PullError, FormatError) as problem:
        _say(str(problem))
        return EXIT_PROBLEM
    _report(result, output)
    if args.dry_run:
        if result.changed:
            sys.stdout.writelines(_diff(result.previous, result.text, output))
        print(f"{output}: {_summary(result)}; dry run, nothing written", file=sys.stderr)
        return EXIT_OK
    if not result.changed:
        print(f"{output}: up to date ({_summary(result)})")
        return EXIT_OK
    try:
        write_atomically(output, result.text)
    except OSError as problem:
        _say(f"cannot write {output}: {problem.strerror or problem}")
        return EXIT_PROBLEM
    print(f"wrote {output}: {_summary(result)}")
    return EXIT_OK


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over
    ``path``: a reader sees the old file or the new one, never half of one.
    The file keeps its permissions (a new one gets the umask's)."""
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _default_output(config: StackConfig | None, cwd: str) -> str:
    if config is None:
        return DEFAULT_MANIFEST_PATH
    return os.path.join(cwd, str(config.values.get(MANIFEST_CONFIG) or DEFAULT_MANIFEST_PATH))


def _read_existing(path: str) -> str | None:
    if not os.path.lexists(path):
        return None
    return read_manifest_text(path)


def _report(result: PullResult, output: str) -> None:
    for skip in result.skipped:
        who = f"user {skip.user_id}" + (f" ({shown(skip.username)})" if skip.username else "")
        _say(f"skipped {who}: {skip.reason}")
    for note in result.notes:
        _say(note)
    for username, line in result.missing:
        _say(f"{output}:{line}: {shown(username)} is not in Alloy; pull leaves the entry as it is")


def _summary(result: PullResult) -> str:
    parts = [f"{len(result.added)} added", f"{result.declared} already declared"]
    if result.skipped:
        parts.append(f"{len(result.skipped)} skipped")
    if result.missing:
        parts.append(f"{len(result.missing)} declared but not in Alloy")
    return f"{result.total} users in Alloy: " + ", ".join(parts)


def _diff(old: str | None, new: str, name: str) -> list[str]:
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        f"{name} (current)" if old is not None else "/dev/null",
        f"{name} (pulled)",
    )
    return [line if line.endswith("\n") else line + "\n" for line in lines]


def _say(message: str) -> None:
    print(f"pull: {message}", file=sys.stderr)
