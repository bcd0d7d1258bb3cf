"""The state backend a ``PULUMI_BACKEND_URL`` names, as a typed value.

One parser for every module that reaches the DIY backend's files directly
(the create journal, ``scripts/recover.py``), so they agree on where the
files are:

- ``file://PATH`` (``file://~/state`` too): ``FileBackend(root)``, the folder
  that holds ``.pulumi/``;
- ``s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=R&disableSSL=true&s3ForcePathStyle=true``
  (``use_path_style`` and ``disable_https``, gocloud's newer spellings, too):
  ``S3Backend``, whose ``key(relative)`` is the object key of a path under
  the backend's root. An endpoint without a scheme gets ``https://``, or
  ``http://`` when ``disableSSL`` / ``disable_https`` is true;
- anything else (Pulumi Cloud's ``https://``, ``azblob://``, ``gs://``, an
  empty string): ``OtherBackend(scheme, url)``, which this project does not
  read or write itself.

Parsing reads no environment and makes no call; an ``s3://`` URL without a
bucket raises ``BackendUrlError``. Pulumi-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union
from urllib.parse import parse_qs, urlsplit

CLOUD_SCHEMES = ("http", "https")


class BackendUrlError(ValueError):
    """The URL has a known scheme but cannot name a backend (an ``s3://`` without a bucket)."""


@dataclass(frozen=True)
class FileBackend:
    """A ``file://`` backend: ``root`` is the folder holding ``.pulumi/``."""

    root: Path


@dataclass(frozen=True)
class S3Backend:
    """An ``s3://`` backend (AWS or an S3-compatible server)."""

    bucket: str
    prefix: str = ""  # no leading or trailing slash; "" is the bucket's root
    endpoint: Optional[str] = None  # with its scheme, e.g. "http://127.0.0.1:9000"
    region: Optional[str] = None  # the URL's region only (callers may fall back to AWS_REGION)
    path_style: bool = False

    def key(self, relative: str) -> str:
        """The object key of ``relative`` (a path under the backend's root, ``/``-separated)."""
        relative = relative.lstrip("/")
        return f"{self.prefix}/{relative}" if self.prefix else relative

    @property
    def url(self) -> str:
        """The bucket and prefix as an ``s3://`` URL, without the query (for messages)."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


@dataclass(frozen=True)
class OtherBackend:
    """A backend this project does not reach directly (``scheme`` is ``""`` for an empty URL)."""

    scheme: str
    url: str

    @property
    def is_cloud(self) -> bool:
        """True for Pulumi Cloud (or a self-hosted service): an ``http(s)://`` URL."""
        return self.scheme in CLOUD_SCHEMES


Backend = Union[FileBackend, S3Backend, OtherBackend]


def parse_backend_url(url: str) -> Backend:
    """The backend ``url`` names (see the module docstring); raise
    ``BackendUrlError`` for an ``s3://`` URL without a bucket."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileBackend(Path(parts.netloc + parts.path).expanduser())
    if parts.scheme == "s3":
        if not parts.netloc:
            raise BackendUrlError(f"the s3:// backend URL {url!r} names no bucket (s3://BUCKET/PREFIX)")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        insecure = "true" in (query.get("disableSSL", "").lower(), query.get("disable_https", "").lower())
        endpoint = query.get("endpoint")
        if endpoint and "://" not in endpoint:
            endpoint = ("http://" if insecure else "https://") + endpoint
        return S3Backend(
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            endpoint=endpoint,
            region=query.get("region") or None,
            path_style=query.get("s3ForcePathStyle", query.get("use_path_style", "")).lower() == "true",
        )
    return OtherBackend(scheme=parts.scheme, url=url)
