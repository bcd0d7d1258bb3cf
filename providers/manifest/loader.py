"""Load, validate and normalise the manifest of desired users (``users.yaml``).

    manifest = load_manifest("users.yaml")   # or parse_manifest(text, "users.yaml")
    for user in manifest.users: ...

Either a ``Manifest`` comes back, or one ``ManifestError`` lists every problem
found, one per line: ``users.yaml:12:7: users[3].username: must not be empty``.
The checks, in order: the file can be read, is at most ``MAX_MANIFEST_BYTES``
and is UTF-8; the YAML parses safely (``yaml_reader``: no object tags, no
duplicate keys, bounded aliases); it has the shape of ``users.schema.json``
(``schema``); the entries agree with each other (``rules``).

Command line, without Pulumi (for pre-commit and CI):
``python -m providers.manifest check|fmt [--check] [FILE...]`` (see ``cli``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from providers.manifest.problems import ManifestError, Problem
from providers.manifest.rules import entry_problems
from providers.manifest.schema import looks_like_manifest, shape_problems
from providers.manifest.yaml_reader import YamlDocument, position_at_index, read_yaml

MAX_MANIFEST_BYTES = 4 * 1_048_576  # about 60,000 users with full names; 10,000 take about 2 s to check
DEFAULT_MANIFEST_PATH = "users.yaml"
BYTE_ORDER_MARK = "\ufeff"


@dataclass(frozen=True)
class DesiredUser:
    """One entry of the manifest, normalised: ``full_name`` is trimmed (None
    when unset), the guards default to False, ``line`` is where the entry starts."""

    username: str
    full_name: str | None
    protect: bool
    retain_on_delete: bool
    previous_usernames: tuple[str, ...]
    line: int
    delete_adopted: bool = False


@dataclass(frozen=True)
class Manifest:
    """A valid manifest. ``users`` keeps the file's order; ``path`` is the
    file as the caller named it."""

    path: str
    version: int
    users: tuple[DesiredUser, ...]
    allow_empty: bool


def load_manifest(path: str | os.PathLike[str], *, max_bytes: int = MAX_MANIFEST_BYTES) -> Manifest:
    """Read and validate the manifest at ``path``.

    Raises ``ManifestError`` with every problem found (a missing or unreadable
    file, one over ``max_bytes``, bad YAML, schema violations, clashes between
    entries); never another exception for bad file content.
    """
    return parse_manifest(read_manifest_text(path, max_bytes=max_bytes), os.fspath(path), max_bytes=max_bytes)


def parse_manifest(
    text: str, path: str = DEFAULT_MANIFEST_PATH, *, max_bytes: int = MAX_MANIFEST_BYTES
) -> Manifest:
    """Validate manifest ``text``; ``path`` only names the file in problems.

    Same contract as ``load_manifest``: a ``Manifest``, or a ``ManifestError``
    listing every problem.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ManifestError([_too_large(path, f"{size} bytes", max_bytes)])
    text = text.removeprefix(BYTE_ORDER_MARK)
    document = read_yaml(text, path)
    problems = _problems(document)
    if problems and document.fast:  # report every problem where the pure parser puts it
        document = read_yaml(text, path, fast=False)
        problems = _problems(document)
    if problems:
        raise ManifestError(problems)
    return _manifest(document)


def _problems(document: YamlDocument) -> list[Problem]:
    problems = list(document.problems)
    if not looks_like_manifest(document):  # maybe a dotenv file or /etc/passwd: quote none of it
        problems = [problem.without_content() for problem in problems]
    if document.usable:
        problems += shape_problems(document)
        problems += entry_problems(document)
    return problems


def read_manifest_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_MANIFEST_BYTES) -> str:
    """The text of the file at ``path`` (UTF-8, an optional byte order mark
    dropped). Raises ``ManifestError`` with one problem, at line 1 column 1
    (or at the first byte that is not UTF-8), if it cannot be read, is larger
    than ``max_bytes`` or is not UTF-8."""
    shown = os.fspath(path)

    def fail(reason: str, line: int = 1, column: int = 1) -> ManifestError:
        return ManifestError([Problem(shown, line, column, "", reason)])

    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
            if len(raw) > max_bytes:
                size = os.fstat(handle.fileno()).st_size  # 0 for a pipe
                shown_size = f"{size} bytes" if size > max_bytes else f"over {max_bytes} bytes"
                raise ManifestError([_too_large(shown, shown_size, max_bytes)])
    except FileNotFoundError:
        raise fail("file not found") from None
    except IsADirectoryError:
        raise fail("is a directory, not a file") from None
    except PermissionError:
        raise fail("cannot read the file: permission denied") from None
    except OSError as error:
        raise fail(f"cannot read the file: {error.strerror or error}") from None
    try:
        return raw.decode("utf-8").removeprefix(BYTE_ORDER_MARK)
    except UnicodeDecodeError as error:
        good = raw[: error.start].decode("utf-8")
        at = position_at_index(good, len(good))
        raise fail(f"is not UTF-8 text: byte 0x{raw[error.start]:02X} cannot be decoded", *at) from None


def _too_large(path: str, size: str, max_bytes: int) -> Problem:
    mebibytes = f" ({max_bytes // 1_048_576} MiB)" if max_bytes % 1_048_576 == 0 else ""
    reason = f"the file is too large ({size}); the limit is {max_bytes} bytes{mebibytes}"
    return Problem(path, 1, 1, "", reason)


def _manifest(document: YamlDocument) -> Manifest:
    """The ``Manifest`` of a document that passed every check."""
    data = document.data
    users = tuple(
        DesiredUser(
            username=entry["username"],
            full_name=entry["fullName"].strip() if "fullName" in entry else None,
            protect=entry.get("protect", False),
            retain_on_delete=entry.get("retainOnDelete", False),
            delete_adopted=entry.get("deleteAdopted", False),
            previous_usernames=tuple(entry.get("previousUsernames", ())),
            line=document.values[("users", index)].line,
        )
        for index, entry in enumerate(data["users"])
    )
    return Manifest(
        path=document.path,
        version=int(data.get("version", 1)),
        users=users,
        allow_empty=data.get("allowEmpty", False),
    )

