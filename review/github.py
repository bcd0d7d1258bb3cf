"""Small, pulumi-free helpers that the GitHub workflows call: fetch the pull
request's manifest as data, decide whether a pull request needs a plan, and
note on the plan comment what it was made of.

    python -m review.github fetch-manifest --commit SHA --path FILE --output FILE
    python -m review.github relevant --files FILES.json --manifest FILE
    python -m review.github annotate --plan PLAN.md --files FILES.json --manifest FILE --base-sha SHA

``fetch-manifest`` reads one file of a commit with git, never checking the
commit out: the path must name a regular file blob (mode 100644 or 100755;
not a symlink, a submodule or a tree) of at most ``--max-bytes`` bytes.
FILES.json is the output of ``gh api --paginate .../pulls/N/files --jq
'[.[] | .filename, (.previous_filename // empty)]'`` (one array a page).

Exit status: 0 done; 1 refused (the reason on stderr); 2 a usage error.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import posixpath
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

PROGRAM = "python -m review.github"
# A manifest of tens of thousands of users fits; anything larger is not a manifest.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
REGULAR_FILE_MODES = frozenset({"100644", "100755"})
# Files whose change (besides the manifest) makes a pull request worth a plan:
# what the stack runs, how it is configured, and how it is planned and applied.
RELEVANT_PATTERNS = (
    "Pulumi.yaml", "Pulumi.*.yaml", "__main__.py", "providers/*", "review/*",
    "requirements.txt", "constraints.txt", ".pulumi-version", "users.schema.json",
    ".github/workflows/users-*.yml",
)
# GitHub's pull request files API lists at most this many: a list this long is
# taken as touching everything.
MAX_FILES_LISTED_BY_API = 3000
# Changed files listed by name in the plan comment; the rest are counted.
MAX_LISTED_FILES = 30
GIT_TIMEOUT_S = 60


class Refused(RuntimeError):
    """The pull request's file cannot be used as a manifest."""


def read_json_stream(text: str) -> list[Any]:
    """The JSON values of ``text`` one after another (``gh api --paginate``
    prints one array a page): arrays are flattened into one list."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index == len(text):
            return values
        value, index = decoder.raw_decode(text, index)
        values.extend(value if isinstance(value, list) else [value])


def safe_relative_path(path: str) -> str:
    """``path`` as a normalised path inside the repository, or ``Refused``."""
    if not path or "\\" in path or "\0" in path or path.startswith("/"):
        raise Refused(f"the manifest path {path!r} must be a relative path inside the repository")
    normal = posixpath.normpath(path)
    if normal in (".", "..") or normal.startswith("../") or normal.startswith(".git/") or normal == ".git":
        raise Refused(f"the manifest path {path!r} must be a relative path inside the repository")
    return normal


def blob_of(commit: str, path: str, *, repo: str = ".") -> tuple[str, str, int]:
    """``(mode, object id, size)`` of ``path`` at ``commit``; ``Refused`` unless
    it is a regular file blob."""
    entry = _git(repo, "ls-tree", "-z", "--full-tree", commit, "--", path).rstrip("\0")
    if not entry:
        raise Refused(f"{path} does not exist at {commit[:12]}")
    meta, _, name = entry.partition("\t")
    mode, kind, oid = meta.split()
    if name != path or "\0" in entry:
        raise Refused(f"{path} at {commit[:12]} is not one file")
    if kind != "blob" or mode not in REGULAR_FILE_MODES:
        what = {"120000": "a symlink", "160000": "a submodule", "040000": "a folder"}.get(mode, f"mode {mode}")
        raise Refused(f"{path} at {commit[:12]} is {what}, not a regular file")
    return mode, oid, int(_git(repo, "cat-file", "-s", oid).strip())


def fetch_manifest(
    commit: str, path: str, output: str | os.PathLike[str], *, repo: str = ".", max_bytes: int = MAX_MANIFEST_BYTES,
) -> int:
    """Write the regular file ``path`` of ``commit`` to ``output`` (replacing
    whatever is there, a symlink included, without following it); its size."""
    path = safe_relative_path(path)
    _, oid, size = blob_of(commit, path, repo=repo)
    if size > max_bytes:
        raise Refused(f"{path} at {commit[:12]} has {size} bytes, more than the limit of {max_bytes}")
    data = subprocess.run(
        ["git", "cat-file", "blob", oid], cwd=repo, capture_output=True, check=True, timeout=GIT_TIMEOUT_S,
    ).stdout
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".manifest-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, target)
    return len(data)


def changed_non_manifest(files: Iterable[str], manifest: str) -> list[str]:
    """The changed files other than the manifest, sorted, each once."""
    return sorted({name for name in files if name != manifest})


def relevant_changes(files: Iterable[str], manifest: str) -> list[str]:
    """The changed files that make a plan worth making: the manifest, and
    what the stack runs or is configured with. A list cut short by the API
    counts as changing everything."""
    files = list(files)
    if len(files) >= MAX_FILES_LISTED_BY_API:
        return sorted(set(files))
    return sorted({
        name for name in files
        if name == manifest or any(fnmatch.fnmatchcase(name, pattern) for pattern in RELEVANT_PATTERNS)
    })


def annotate_plan(plan: str, files: Iterable[str], manifest: str, base_sha: str) -> str:
    """``plan`` with a note under its title: what the plan was made of and the
    changed files it did not use. The first line (the marker) stays first."""
    others = changed_non_manifest(files, manifest)
    note = [
        f"> Planned with the base branch's code and config (`{base_sha[:12]}`); only the manifest "
        f"`{manifest}` comes from this pull request.",
    ]
    if others:
        listed = ", ".join(f"`{_literal(name)}`" for name in others[:MAX_LISTED_FILES])
        more = len(others) - MAX_LISTED_FILES
        note += [
            ">",
            f"> This pull request also changes {len(others)} other file{'s' if len(others) != 1 else ''}, "
            f"not used by this plan: {listed}{f' and {more} more' if more > 0 else ''}. "
            "They take effect only once merged: review them as code.",
        ]
    lines = plan.split("\n")
    at = 2 if len(lines) > 1 and lines[1].startswith("#") else 1
    return "\n".join([*lines[:at], "", *note, *lines[at:]])


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line on ``argv``; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "fetch-manifest":
            size = fetch_manifest(args.commit, args.path, args.output, repo=args.repo, max_bytes=args.max_bytes)
            print(f"{args.path} at {args.commit[:12]}: {size} bytes", file=sys.stderr)
        elif args.command == "relevant":
            changed = relevant_changes(_files(args.files), args.manifest)
            print("true" if changed else "false")
        else:
            text = Path(args.plan).read_text(encoding="utf-8")
            Path(args.plan).write_text(annotate_plan(text, _files(args.files), args.manifest, args.base_sha),
                                       encoding="utf-8")
    except Refused as problem:
        print(f"{PROGRAM}: {problem}", file=sys.stderr)
        return 1
    except (OSError, ValueError, subprocess.SubprocessError) as problem:
        print(f"{PROGRAM}: {problem}", file=sys.stderr)
        return 2
    return 0


def _files(path: str) -> list[str]:
    names = read_json_stream(Path(path).read_text(encoding="utf-8"))
    if not all(isinstance(name, str) for name in names):
        raise ValueError(f"{path}: expected file names")
    return names


def _literal(name: str) -> str:
    return name.replace("`", "'").replace("\n", " ")


def _git(repo: str, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
    if result.returncode != 0:
        raise Refused(f"git {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-manifest", help="write one regular file of a commit, without checking it out")
    fetch.add_argument("--commit", required=True, metavar="SHA")
    fetch.add_argument("--path", required=True, metavar="FILE", help="the file in the commit")
    fetch.add_argument("--output", required=True, metavar="FILE", help="where to write it")
    fetch.add_argument("--repo", default=".", metavar="DIR", help="the git repository (default: .)")
    fetch.add_argument("--max-bytes", type=int, default=MAX_MANIFEST_BYTES, metavar="N")
    relevant = commands.add_parser("relevant", help="print true when the changed files need a plan")
    annotate = commands.add_parser("annotate", help="note on the plan comment what the plan was made of")
    for sub in (relevant, annotate):
        sub.add_argument("--files", required=True, metavar="FILES.json", help="the pull request's changed files")
        sub.add_argument("--manifest", required=True, metavar="FILE", help="the manifest path of the base config")
    annotate.add_argument("--plan", required=True, metavar="PLAN.md", help="the plan comment, rewritten in place")
    annotate.add_argument("--base-sha", required=True, metavar="SHA", help="the commit the plan's code came from")
    return parser


if __name__ == "__main__":
    sys.exit(main())
