"""The files of a DIY state backend, read and written directly: the seam
through which ``scripts/recover.py`` repairs what an interrupted run left,
the same way on ``file://`` and ``s3://``.

Keys are ``/``-separated paths under the backend's root (the folder or
bucket prefix that holds ``.pulumi/``), e.g.
``.pulumi/stacks/alloy/prod.json``. The contract of every implementation:

- ``list(prefix)``: every key that starts with ``prefix``, at any depth,
  sorted (no folders; ``[]`` when there is none);
- ``read(key)``: the bytes, or None when the key does not exist;
- ``write(key, data)``: replace (or create) the whole object;
- ``delete(key)``: remove it; a missing key is not an error;
- ``exists(key)``;
- ``describe(key)``: where the key is, for messages.

Any other failure (permissions, network, no credentials, no boto3) raises
``StorageError`` with a one-line message. ``S3Storage`` reaches the bucket
with boto3 (imported on first use): endpoint, region and path style from
the backend URL, the region otherwise from ``AWS_REGION``, credentials the
usual way (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a profile,
an instance role). Pulumi-free.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Protocol

from providers.guard.backend_url import Backend, FileBackend, S3Backend


class StorageError(Exception):
    """The backend could not be read or written; the message says where and why."""


class BackendStorage(Protocol):
    """The files of one DIY backend (see the module docstring for the contract)."""

    def list(self, prefix: str) -> list[str]: ...

    def read(self, key: str) -> Optional[bytes]: ...

    def write(self, key: str, data: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def describe(self, key: str) -> str: ...


@dataclass
class FileStorage:
    """A ``file://`` backend: keys are paths under ``root``."""

    root: Path

    def _path(self, key: str) -> Path:
        return self.root / key.lstrip("/")

    def describe(self, key: str) -> str:
        return str(self._path(key))

    def list(self, prefix: str) -> list[str]:
        # The deepest folder the prefix names fully, then filter on the whole prefix.
        folder = self._path(prefix.rsplit("/", 1)[0]) if "/" in prefix else self.root
        if not folder.is_dir():
            return []
        try:
            keys = [path.relative_to(self.root).as_posix() for path in folder.rglob("*") if path.is_file()]
        except OSError as problem:
            raise StorageError(f"cannot list {folder}: {problem.strerror}") from None
        return sorted(key for key in keys if key.startswith(prefix.lstrip("/")))

    def read(self, key: str) -> Optional[bytes]:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as problem:
            raise StorageError(f"cannot read {self.describe(key)}: {problem.strerror}") from None

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as problem:
            raise StorageError(f"cannot write {self.describe(key)}: {problem.strerror}") from None

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as problem:
            raise StorageError(f"cannot remove {self.describe(key)}: {problem.strerror}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


@dataclass
class S3Storage:
    """An ``s3://`` backend, through boto3."""

    backend: S3Backend
    environ: Optional[Mapping[str, str]] = None  # for the region fallback; None: os.environ
    _clients: list[Any] = field(default_factory=list, repr=False)

    def describe(self, key: str) -> str:
        return f"s3://{self.backend.bucket}/{self.backend.key(key)}"

    def _client(self) -> Any:
        if self._clients:
            return self._clients[0]
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise StorageError("boto3 is not installed: repairing an s3:// backend needs it") from None
        environ = os.environ if self.environ is None else self.environ
        region = self.backend.region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        config = Config(s3={"addressing_style": "path"} if self.backend.path_style else {})
        try:
            client = boto3.client("s3", endpoint_url=self.backend.endpoint, region_name=region, config=config)
        except Exception as problem:  # noqa: BLE001 - botocore's error tree
            raise StorageError(f"cannot reach {self.backend.url}: {_one_line(problem)}") from None
        self._clients.append(client)
        return client

    def _fail(self, doing: str, key: str, problem: Exception) -> StorageError:
        return StorageError(f"cannot {doing} {self.describe(key)}: {_one_line(problem)}")

    def list(self, prefix: str) -> list[str]:
        full = self.backend.key(prefix)
        root = self.backend.key("")
        keys: list[str] = []
        try:
            pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=self.backend.bucket, Prefix=full)
            for page in pages:
                keys += [entry["Key"][len(root):] for entry in page.get("Contents", [])]
        except StorageError:
            raise
        except Exception as problem:  # noqa: BLE001
            raise self._fail("list", prefix, problem) from None
        return sorted(keys)

    def read(self, key: str) -> Optional[bytes]:
        try:
            answer = self._client().get_object(Bucket=self.backend.bucket, Key=self.backend.key(key))
            return bytes(answer["Body"].read())
        except StorageError:
            raise
        except Exception as problem:  # noqa: BLE001
            if _error_code(problem) in ("NoSuchKey", "404"):
                return None
            raise self._fail("read", key, problem) from None

    def write(self, key: str, data: bytes) -> None:
        try:
            self._client().put_object(Bucket=self.backend.bucket, Key=self.backend.key(key), Body=data)
        except StorageError:
            raise
        except Exception as problem:  # noqa: BLE001
            raise self._fail("write", key, problem) from None

    def delete(self, key: str) -> None:
        try:  # S3's DeleteObject succeeds for a missing key
            self._client().delete_object(Bucket=self.backend.bucket, Key=self.backend.key(key))
        except StorageError:
            raise
        except Exception as problem:  # noqa: BLE001
            if _error_code(problem) not in ("NoSuchKey", "404"):
                raise self._fail("remove", key, problem) from None

    def exists(self, key: str) -> bool:
        try:
            self._client().head_object(Bucket=self.backend.bucket, Key=self.backend.key(key))
            return True
        except StorageError:
            raise
        except Exception as problem:  # noqa: BLE001
            if _error_code(problem) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise self._fail("look up", key, problem) from None


def storage_for(backend: Backend, environ: Optional[Mapping[str, str]] = None) -> Optional[BackendStorage]:
    """The storage of a ``file://`` or ``s3://`` backend; None for any other."""
    if isinstance(backend, FileBackend):
        return FileStorage(backend.root)
    if isinstance(backend, S3Backend):
        return S3Storage(backend, environ)
    return None


def _error_code(problem: Exception) -> Optional[str]:
    response = getattr(problem, "response", None)
    return str(response.get("Error", {}).get("Code")) if isinstance(response, dict) else None


def _one_line(problem: Exception) -> str:
    text = " ".join(str(problem).split())
    return text or type(problem).__name__
