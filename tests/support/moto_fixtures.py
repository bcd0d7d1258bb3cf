"""Pytest fixtures of an S3-compatible state backend (a plugin module).

``tests/conftest.py`` loads it with ``pytest_plugins``.

- ``moto_s3`` (session): one ``python -m moto.server`` on a free port of
  127.0.0.1 with one bucket, started only when a test asks for it. Unlike
  ``bench.moto.MotoServer`` it leaves this process's environment alone: the
  dummy credentials go where a test puts them.
- ``s3_backend`` (function): a fresh prefix of that bucket (``.url`` is the
  ``PULUMI_BACKEND_URL``, ``.env`` the AWS variables, ``.get/put/keys``
  reach the objects); the AWS variables are set in this process for the
  test, so in-process code (``S3Storage``) finds them as the CLI does.
- ``s3_project`` (function): ``s3_project(manifest_text) -> PulumiProject``,
  as the ``project`` fixture but with the stack's state in ``s3_backend``.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.support.ports import free_port
from tests.support.pulumi_harness import PulumiProject

START_DEADLINE_S = 30.0
START_PAUSE_S = 0.1
AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}


@dataclass
class MotoS3:
    """A running ``moto_server`` with one bucket."""

    port: int
    bucket: str
    process: subprocess.Popen

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        """A boto3 S3 client of the server (dummy credentials)."""
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=AWS_ENV["AWS_REGION"],
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"], aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )


@dataclass
class S3Prefix:
    """One test's backend: a prefix of the session's bucket."""

    server: MotoS3
    prefix: str

    @property
    def url(self) -> str:
        """The ``PULUMI_BACKEND_URL`` (the legacy spellings the CLI still accepts)."""
        return (f"s3://{self.server.bucket}/{self.prefix}?endpoint=127.0.0.1:{self.server.port}"
                "&disableSSL=true&s3ForcePathStyle=true&region=us-east-1")

    @property
    def env(self) -> dict[str, str]:
        return {"PULUMI_BACKEND_URL": self.url, **AWS_ENV}

    def keys(self, under: str = ".pulumi/") -> list[str]:
        """Every key under ``under`` (relative to the backend's root), sorted."""
        root = f"{self.prefix}/"
        pages = self.server.client().get_paginator("list_objects_v2").paginate(
            Bucket=self.server.bucket, Prefix=root + under)
        return sorted(entry["Key"][len(root):] for page in pages for entry in page.get("Contents", []))

    def get(self, key: str) -> Optional[bytes]:
        try:
            return self.server.client().get_object(Bucket=self.server.bucket, Key=f"{self.prefix}/{key}")["Body"].read()
        except Exception as problem:  # noqa: BLE001 - botocore's error tree
            if getattr(problem, "response", {}).get("Error", {}).get("Code") == "NoSuchKey":
                return None
            raise

    def put(self, key: str, data: bytes) -> None:
        self.server.client().put_object(Bucket=self.server.bucket, Key=f"{self.prefix}/{key}", Body=data)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """The session's moto server, with its bucket."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = MotoS3(port=port, bucket=f"alloy-test-{secrets.token_hex(4)}", process=process)
    try:
        client = server.client()
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            try:
                client.create_bucket(Bucket=server.bucket)
                break
            except Exception:  # noqa: BLE001 - not up yet
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server on port {port} did not start") from None
                time.sleep(START_PAUSE_S)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_backend(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> S3Prefix:
    """A fresh prefix of the bucket; the AWS variables set for this test."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return S3Prefix(server=moto_s3, prefix=f"state-{secrets.token_hex(4)}")


@pytest.fixture
def s3_project(tmp_path: Path, emulator, s3_backend: S3Prefix) -> Callable[..., PulumiProject]:
    """``s3_project(manifest_text) -> PulumiProject`` on the test emulator, state in ``s3_backend``."""
    counter = iter(range(1000))

    def make(manifest: str) -> PulumiProject:
        stack = PulumiProject(tmp_path / f"s3-project-{next(counter)}", env=s3_backend.env)
        stack.write_manifest(manifest)
        stack.config_set("alloy:baseUrl", emulator.url)
        stack.config_set("alloy:apiKey", emulator.api_key, secret=True)
        return stack

    return make
