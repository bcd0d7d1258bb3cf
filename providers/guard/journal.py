"""The create journal: which usernames this stack may have created in Alloy
without the state recording it yet.

Why: with ``PULUMI_SKIP_CHECKPOINTS=true`` the DIY backends (``file://``,
``s3://``) write the state once, at the end of a run, instead of rewriting
the whole checkpoint after every step (which makes create and destroy grow
with N²). A run killed half-way then leaves the *pre-run* state: the users
it created are in Alloy but not in the state, and the next run meets their
usernames and would adopt them (``adopted: true``, only forgotten on
removal). The provider's logic keeps the users exact (lookup before
re-create, idempotent update and delete); the journal keeps "ours" exact.

The record, in the state backend next to the stack
(``<backend>/.pulumi/alloy-users/create-journal/<project>/<stack>.json``),
is a set of usernames. ``plan_journal`` computes it before each run, from
one listing of the Alloy account, and it is written durably (file: write,
fsync, rename; S3: one ``PutObject``) *before* ``pulumi up`` starts:

- a username the run will create that Alloy does not have now: journaled;
- a journaled username of an earlier run that Alloy now has and the state
  does not record: kept (its create landed and was not recorded: ours);
- anything else is dropped (recorded in the state, or never landed).

A username Alloy already has that is not journaled is never added, so a
user that existed before this stack created it is still adopted. The
provider (``ALLOY_CREATE_JOURNAL`` names a local copy of the set) treats a
create that meets an existing username as its own when, and only when, the
journal lists it. After the run, the wrapper drops what the state now
records (``prune``). The one gap is the same as for ``scripts/recover.py``'s
import of pending creates: a user created outside the stack, with that very
username, between the journal's listing and the create.

Pulumi-free, so that the wrapper (``review apply``) can use it.
"""

from __future__ import annotations

import json
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Protocol
from urllib.parse import urlsplit

from providers.guard.backend_url import BackendUrlError, FileBackend, S3Backend, parse_backend_url

JOURNAL_ENV = "ALLOY_CREATE_JOURNAL"
JOURNAL_DIR = ".pulumi/alloy-users/create-journal"
FORMAT_VERSION = 1
JOURNALED_SCHEMES = ("file", "s3")


def username_key(name: str) -> str:
    """``providers.manifest.identity.username_key`` (a compatibility
    contract: never changes), repeated here because this layer may not
    import the manifest toolkit."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


class JournalError(Exception):
    """The journal could not be read or written (the run keeps checkpoints on)."""


class JournalStore(Protocol):
    """Where one stack's journal lives."""

    location: str

    def read(self) -> set[str]: ...

    def write(self, usernames: Iterable[str]) -> None: ...


def journal_key(project: str, stack: str) -> str:
    """The journal's path under the backend's root."""
    return f"{JOURNAL_DIR}/{project}/{stack.rsplit('/', 1)[-1]}.json"


def _encode(usernames: Iterable[str]) -> bytes:
    return json.dumps({"version": FORMAT_VERSION, "usernames": sorted(set(usernames))}, indent=0).encode()


def _decode(data: bytes, where: str) -> set[str]:
    try:
        parsed = json.loads(data)
        names = parsed["usernames"]
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ValueError("usernames is not a list of strings")
    except (ValueError, KeyError, TypeError) as problem:
        raise JournalError(f"the create journal {where} is not readable: {problem}") from None
    return set(names)


@dataclass
class FileJournal:
    """A journal in a ``file://`` backend folder."""

    path: Path

    @property
    def location(self) -> str:
        return str(self.path)

    def read(self) -> set[str]:
        try:
            return _decode(self.path.read_bytes(), self.location)
        except FileNotFoundError:
            return set()
        except OSError as problem:
            raise JournalError(f"cannot read the create journal {self.location}: {problem.strerror}") from None

    def write(self, usernames: Iterable[str]) -> None:
        _write_atomically(self.path, _encode(usernames))


@dataclass
class S3Journal:
    """A journal in an ``s3://`` backend bucket (``boto3``, imported on use)."""

    bucket: str
    key: str
    endpoint: Optional[str] = None
    region: Optional[str] = None
    path_style: bool = False

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def _client(self):  # type: ignore[no-untyped-def]
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise JournalError("boto3 is not installed: the create journal on s3:// needs it") from None
        config = Config(s3={"addressing_style": "path"} if self.path_style else {})
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region, config=config)

    def read(self) -> set[str]:
        try:
            client = self._client()
            answer = client.get_object(Bucket=self.bucket, Key=self.key)
            return _decode(answer["Body"].read(), self.location)
        except JournalError:
            raise
        except Exception as problem:  # noqa: BLE001 - botocore's error tree
            if getattr(problem, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return set()
            raise JournalError(f"cannot read the create journal {self.location}: {problem}") from None

    def write(self, usernames: Iterable[str]) -> None:
        try:
            self._client().put_object(Bucket=self.bucket, Key=self.key, Body=_encode(usernames))
        except JournalError:
            raise
        except Exception as problem:  # noqa: BLE001
            raise JournalError(f"cannot write the create journal {self.location}: {problem}") from None


def store_for(backend_url: str, project: str, stack: str) -> Optional[JournalStore]:
    """The journal of ``project/stack`` on that backend; None when the backend
    is not a DIY backend that this module writes to (Pulumi Cloud journals
    by itself; azblob://, gs://: checkpoints stay on). The URL is read by
    ``backend_url.parse_backend_url``; an ``s3://`` URL without a region
    uses ``AWS_REGION``."""
    try:
        backend = parse_backend_url(backend_url)
    except BackendUrlError:
        return None
    key = journal_key(project, stack)
    if isinstance(backend, FileBackend):
        return FileJournal(backend.root / key)
    if isinstance(backend, S3Backend):
        return S3Journal(
            bucket=backend.bucket, key=backend.key(key), endpoint=backend.endpoint,
            region=backend.region or os.environ.get("AWS_REGION"), path_style=backend.path_style,
        )
    return None


def plan_journal(
    standing: Iterable[str], creates: Iterable[str], in_alloy: Iterable[str], recorded: Iterable[str]
) -> set[str]:
    """The journal for the next run (see the module docstring).

    ``standing``: the journal as the last run left it; ``creates``: the
    usernames the run will create; ``in_alloy``: every username of the
    account now; ``recorded``: the usernames the stack's state records.
    Alloy's usernames are compared by identity key (letter case, Unicode
    form), so a username Alloy may hold in another case is never journaled.
    """
    alloy_keys = {username_key(name) for name in in_alloy}
    recorded_set = set(recorded)
    kept = {name for name in standing if username_key(name) in alloy_keys and name not in recorded_set}
    fresh = {name for name in creates if username_key(name) not in alloy_keys}
    return kept | fresh


def prune(journal: Iterable[str], recorded: Iterable[str]) -> set[str]:
    """What stays journaled once the state records ``recorded``."""
    return set(journal) - set(recorded)


def write_local_copy(usernames: Iterable[str], folder: Optional[Path] = None) -> Path:
    """A private local copy of the set for the provider process (``JOURNAL_ENV``)."""
    handle, name = tempfile.mkstemp(prefix="alloy-create-journal-", suffix=".json", dir=folder)
    os.close(handle)
    path = Path(name)
    _write_atomically(path, _encode(usernames))
    return path


def journaled_usernames(environ: Optional[Mapping[str, str]] = None) -> frozenset[str]:
    """The set the provider consults: the file named by ``ALLOY_CREATE_JOURNAL``,
    or nothing (no journal: a create that meets a username adopts it)."""
    environ = os.environ if environ is None else environ
    path = environ.get(JOURNAL_ENV, "").strip()
    if not path:
        return frozenset()
    try:
        return frozenset(_decode(Path(path).read_bytes(), path))
    except (OSError, JournalError):
        # Unreadable: adopt (the conservative answer), never guess "ours".
        return frozenset()


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as problem:
        raise JournalError(f"cannot write the create journal {path}: {problem.strerror}") from None


# -- the wrapper's side: one checkpoint-free `pulumi up` --------------------------

SKIP_CHECKPOINTS_ENV = "PULUMI_SKIP_CHECKPOINTS"
USER_TYPE = "pulumi-python:dynamic/alloy:User"


@dataclass
class JournaledRun:
    """A prepared run: ``env`` goes to ``pulumi up``; ``finish`` prunes the
    journal once the run has ended (any outcome) and removes the local copy."""

    store: JournalStore
    journal: set[str]
    local_copy: Path
    env: dict[str, str]

    def finish(self, recorded: Optional[set[str]]) -> None:
        try:
            if recorded is not None:
                remaining = prune(self.journal, recorded)
                if remaining != self.journal:
                    self.store.write(remaining)
        finally:
            self.local_copy.unlink(missing_ok=True)


def recorded_usernames(exported: str) -> set[str]:
    """The usernames of the users in a ``pulumi stack export``."""
    resources = (json.loads(exported or "{}").get("deployment") or {}).get("resources") or []
    return {
        str(resource["outputs"]["username"]) for resource in resources
        if resource.get("type") == USER_TYPE and (resource.get("outputs") or {}).get("username")
    }


def prepare_run(
    backend_url: str, project: str, stack: str, creates: Iterable[str],
    export_state: Callable[[], Optional[str]], list_alloy: Callable[[], Optional[list[str]]],
    environ: Mapping[str, str],
) -> tuple[Optional[JournaledRun], str]:
    """Write the journal for a run that will create ``creates``; return the
    prepared run, or None and why checkpoints stay on.

    ``export_state()`` is ``pulumi stack export`` (None when it fails),
    ``list_alloy()`` every username of the account (None when it cannot
    ask). Checkpoints stay on when the user set ``PULUMI_SKIP_CHECKPOINTS``
    to false, for a backend other than file:// and s3://, and whenever the
    journal cannot be made exact (no key, a failed listing or write).
    """
    if environ.get(SKIP_CHECKPOINTS_ENV, "").strip().lower() in ("0", "false"):
        return None, f"{SKIP_CHECKPOINTS_ENV} is false"
    store = store_for(backend_url, project, stack)
    if store is None:
        return None, f"the backend {urlsplit(backend_url).scheme or backend_url!r}:// is not file:// or s3://"
    creates = set(creates)
    try:
        standing = store.read()
        journal: set[str] = set()
        if creates or standing:
            in_alloy = list_alloy()
            if in_alloy is None:
                return None, "cannot list the Alloy account to write the create journal"
            recorded: set[str] = set()
            if standing:
                exported = export_state()
                if exported is None:
                    return None, "cannot read the stack's state to update the create journal"
                recorded = recorded_usernames(exported)
            journal = plan_journal(standing, creates, in_alloy, recorded)
        if journal != standing:
            store.write(journal)
        local = write_local_copy(journal)
    except JournalError as problem:
        return None, str(problem)
    env = {SKIP_CHECKPOINTS_ENV: "true", JOURNAL_ENV: str(local)}
    return JournaledRun(store, journal, local, env), f"create journal {store.location} ({len(journal)} username(s))"


def prepare_cli_run(
    cwd: str, stack: Optional[str], creates: Iterable[str], environ: Mapping[str, str]
) -> tuple[Optional[JournaledRun], str, Callable[[Optional[JournaledRun]], None]]:
    """``prepare_run`` through the ``pulumi`` CLI in ``cwd`` (backend from
    ``PULUMI_BACKEND_URL`` or ``pulumi whoami``, Alloy's settings and key
    from the stack config or ``ALLOY_API_KEY``); also returns the function
    to call once ``pulumi up`` has ended, whatever its outcome."""
    import subprocess

    stack_args = ["--stack", stack] if stack else []

    def pulumi(*args: str) -> Optional[str]:
        try:
            done = subprocess.run(
                ["pulumi", "--non-interactive", *args], cwd=cwd, env=dict(environ), capture_output=True, text=True,
                timeout=600,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    def export_state() -> Optional[str]:
        return pulumi("stack", "export", *stack_args)

    def list_alloy() -> Optional[list[str]]:
        from providers.alloy.client import AlloyClient
        from providers.alloy.errors import AlloyError
        from providers.alloy.settings import read_settings

        shown = pulumi("config", "--json", "--show-secrets", *stack_args)
        if shown is None:
            return None
        values = {key: (entry or {}).get("value") for key, entry in json.loads(shown or "{}").items()}
        try:
            client = AlloyClient(read_settings(values.get, dict(environ)).client)
            return [user.username for user in client.list_users() if user.username is not None]
        except AlloyError:
            return None

    def finish(run: Optional[JournaledRun]) -> None:
        if run is None:
            return
        exported = export_state()
        run.finish(recorded_usernames(exported) if exported is not None else None)

    backend = environ.get("PULUMI_BACKEND_URL", "").strip()
    if not backend:
        shown = pulumi("whoami", "--json")
        backend = str(json.loads(shown).get("url") or "") if shown else ""
    name = stack or (pulumi("stack", "--show-name") or "").strip()
    project = _project_name(Path(cwd))
    if not backend or not name or not project:
        return None, "cannot tell the backend, the project or the stack", finish
    journaled, why = prepare_run(backend, project, name, creates, export_state, list_alloy, environ)
    return journaled, why, finish


def _project_name(folder: Path) -> Optional[str]:
    for candidate in ("Pulumi.yaml", "Pulumi.yml"):
        try:
            text = (folder / candidate).read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("name:"):
                return line.split(":", 1)[1].strip().strip("'\"") or None
    return None
