"""The manifest's command line, without Pulumi, for pre-commit hooks and CI.

    python -m providers.manifest check [FILE...]          validate (default: users.yaml)
    python -m providers.manifest fmt [--check] [FILE...]  rewrite in canonical form
    python -m providers.manifest pull [--output FILE] ...  write the account's users into a manifest
                                                          (read-only; see ``providers.onboarding.pull``)

Exit status: 0 when every file is valid (and, for ``fmt --check``, already
canonical); 1 when a file is invalid (its problems go to stderr) or, with
``fmt --check``, would change (its name and a unified diff go to stdout);
2 for a usage error. ``pull`` has its own (``providers.onboarding.pull``).

Commands that need more than the manifest (``pull`` needs the Alloy client)
are extensions: modules with ``NAME``, ``add_parser(commands)`` and
``run(args)``, passed to ``main`` by ``providers/manifest/__main__.py``, so
that this package depends on nothing above it.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Any, Protocol, Sequence

from providers.manifest.loader import DEFAULT_MANIFEST_PATH, ManifestError, load_manifest, read_manifest_text
from providers.manifest.fmt import FormatError, format_manifest, schema_modeline

PROGRAM = "python -m providers.manifest"


class Extension(Protocol):
    """A command added to this command line by a package above it."""

    NAME: str

    def add_parser(self, commands: Any) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def main(argv: Sequence[str] | None = None, extensions: Sequence[Extension] = ()) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``) with the
    given extension commands; return the exit status."""
    args = _parser(extensions).parse_args(argv)
    for extension in extensions:
        if args.command == extension.NAME:
            return extension.run(args)
    files = args.files or [DEFAULT_MANIFEST_PATH]
    if args.command == "check":
        return check(files)
    return fmt(files, check_only=args.check)


def check(files: Sequence[str]) -> int:
    """Validate each file: a summary line on stdout, or its problems on stderr."""
    status = 0
    for name in files:
        try:
            manifest = load_manifest(name)
        except ManifestError as invalid:
            print(invalid, file=sys.stderr)
            status = 1
            continue
        count = len(manifest.users)
        print(f"{name}: {count} user{'' if count == 1 else 's'}, valid")
    return status


def fmt(files: Sequence[str], *, check_only: bool) -> int:
    """Rewrite each valid file in canonical form; with ``check_only``, only
    report (and diff) the files that would change. Invalid files are left as
    they are and their problems go to stderr."""
    status = 0
    for name in files:
        try:
            text = read_manifest_text(name)
            formatted = format_manifest(text, name, modeline=schema_modeline(name))
        except (ManifestError, FormatError) as refused:
            print(refused, file=sys.stderr)
            status = 1
            continue
        if formatted == text:
            print(f"{name}: already formatted")
            continue
        if check_only:
            print(f"would reformat {name}")
            sys.stdout.writelines(_diff(text, formatted, name))
            status = 1
        else:
            with open(name, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(formatted)
            print(f"reformatted {name}")
    return status


def _diff(old: str, new: str, name: str) -> list[str]:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        f"{name} (current)",
        f"{name} (formatted)",
    )
    return [line if line.endswith("\n") else line + "\n" for line in lines]


def _parser(extensions: Sequence[Extension] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="Check or format an alloy-users manifest (users.yaml) without Pulumi."
    )
    files_help = f"manifest files (default: {DEFAULT_MANIFEST_PATH})"
    names = ",".join(["check", "fmt", *(extension.NAME for extension in extensions)])
    commands = parser.add_subparsers(dest="command", required=True, metavar=f"{{{names}}}")
    checker = commands.add_parser("check", help="validate manifests; exit 1 listing every problem")
    checker.add_argument("files", nargs="*", metavar="FILE", help=files_help)
    formatter = commands.add_parser("fmt", help="rewrite manifests in canonical order and style")
    formatter.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 and show a diff if a file would change"
    )
    formatter.add_argument("files", nargs="*", metavar="FILE", help=files_help)
    for extension in extensions:
        extension.add_parser(commands)
    return parser
