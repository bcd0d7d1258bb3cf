"""A local S3-compatible state backend for the benchmark: ``moto_server`` on a free port with one bucket."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from typing import Any

START_ATTEMPTS = 100
START_PAUSE_S = 0.1
AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}


class MotoServer:
    """``python -m moto.server`` on a free port with one bucket; a context manager.

    Entering it starts the server, creates the bucket and exports the dummy
    AWS credentials into this process's environment (the pulumi runs inherit
    them through ``aws_env()``); leaving it stops the server.
    """

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None
        self.bucket = f"alloy-bench-{secrets.token_hex(4)}"

    @property
    def endpoint(self) -> str:
        """The server's URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "MotoServer":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.environ.update(self.aws_env())
        client = self.client()
        for _ in range(START_ATTEMPTS):
            try:
                client.create_bucket(Bucket=self.bucket)
                return self
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(START_PAUSE_S)
        self.__exit__()
        raise RuntimeError(f"moto server on port {self.port} did not start")

    def client(self) -> Any:
        """A boto3 S3 client of the server."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=AWS_ENV["AWS_REGION"],
                            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"])

    def aws_env(self) -> dict[str, str]:
        """The (dummy) credentials and region the server accepts."""
        return dict(AWS_ENV)

    def backend_url(self, prefix: str) -> str:
        """A Pulumi ``s3://`` backend URL for ``prefix`` in the bucket."""
        return (f"s3://{self.bucket}/{prefix}?endpoint=127.0.0.1:{self.port}&disableSSL=true"
                "&s3ForcePathStyle=true&region=us-east-1")

    def object_bytes(self, key: str) -> int:
        """The size of the object ``key`` in the bucket (0: there is none)."""
        try:
            return int(self.client().head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except Exception as problem:  # noqa: BLE001 - botocore's ClientError, imported lazily
            if getattr(problem, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return 0
            raise

    def __exit__(self, *_exc: Any) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
