"""``providers.guard.backend_url``: what a ``PULUMI_BACKEND_URL`` names, and
that the create journal finds its record where the parser says."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.guard import journal
from providers.guard.backend_url import BackendUrlError, FileBackend, OtherBackend, S3Backend, parse_backend_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("file:///var/state", FileBackend(Path("/var/state")), id="file-absolute"),
        pytest.param("file://~/state", FileBackend(Path.home() / "state"), id="file-home"),
        pytest.param("file://~", FileBackend(Path.home()), id="file-home-itself"),
        pytest.param("s3://bucket", S3Backend("bucket"), id="s3-bucket-only"),
        pytest.param("s3://bucket/", S3Backend("bucket"), id="s3-bucket-trailing-slash"),
        pytest.param("s3://bucket/team/prod/", S3Backend("bucket", prefix="team/prod"), id="s3-nested-prefix"),
        pytest.param(
            "s3://b/p?endpoint=127.0.0.1:9000&disableSSL=true&s3ForcePathStyle=true&region=eu-west-1",
            S3Backend("b", "p", endpoint="http://127.0.0.1:9000", region="eu-west-1", path_style=True),
            id="s3-legacy-spellings",
        ),
        pytest.param(
            "s3://b/p?endpoint=127.0.0.1:9000&disable_https=true&use_path_style=true",
            S3Backend("b", "p", endpoint="http://127.0.0.1:9000", path_style=True),
            id="s3-gocloud-v2-spellings",
        ),
        pytest.param("s3://b?endpoint=minio.internal:9000", S3Backend("b", endpoint="https://minio.internal:9000"),
                     id="s3-endpoint-defaults-to-https"),
        pytest.param("s3://b?endpoint=http://localhost:4566&disableSSL=false",
                     S3Backend("b", endpoint="http://localhost:4566"), id="s3-endpoint-keeps-its-scheme"),
        pytest.param("s3://b?s3ForcePathStyle=TRUE&disableSSL=True&endpoint=h", S3Backend("b", endpoint="http://h", path_style=True),
                     id="s3-booleans-ignore-case"),
        pytest.param("s3://b?s3ForcePathStyle=false&use_path_style=true", S3Backend("b"),
                     id="s3-legacy-path-style-wins"),
        pytest.param("s3://b?region=us-east-1&region=eu-north-1", S3Backend("b", region="eu-north-1"),
                     id="s3-last-repeated-parameter-wins"),
        pytest.param("https://api.pulumi.com", OtherBackend("https", "https://api.pulumi.com"), id="pulumi-cloud"),
        pytest.param("azblob://container", OtherBackend("azblob", "azblob://container"), id="azure-blob"),
        pytest.param("gs://bucket/prefix", OtherBackend("gs", "gs://bucket/prefix"), id="google-storage"),
        pytest.param("", OtherBackend("", ""), id="empty"),
    ],
)
def test_a_backend_url_names_its_backend(url: str, expected: object):
    assert parse_backend_url(url) == expected


@pytest.mark.parametrize(
    ("relative", "prefix", "key"),
    [
        pytest.param(".pulumi/stacks/alloy/prod.json", "team", "team/.pulumi/stacks/alloy/prod.json", id="under-a-prefix"),
        pytest.param(".pulumi/meta.yaml", "", ".pulumi/meta.yaml", id="at-the-bucket-root"),
        pytest.param("/.pulumi/meta.yaml", "team", "team/.pulumi/meta.yaml", id="leading-slash-dropped"),
    ],
)
def test_an_s3_backend_keys_its_paths_under_the_prefix(relative: str, prefix: str, key: str):
    assert S3Backend("b", prefix=prefix).key(relative) == key


@pytest.mark.parametrize(
    ("url", "cloud"),
    [
        pytest.param("https://api.pulumi.com", True, id="https"),
        pytest.param("http://pulumi.internal:8080", True, id="http-self-hosted"),
        pytest.param("gs://bucket", False, id="gs"),
    ],
)
def test_pulumi_cloud_is_told_from_other_backends(url: str, cloud: bool):
    backend = parse_backend_url(url)
    assert isinstance(backend, OtherBackend) and backend.is_cloud is cloud


def test_an_s3_url_without_a_bucket_is_refused():
    with pytest.raises(BackendUrlError, match="names no bucket"):
        parse_backend_url("s3:///prefix")


@pytest.mark.parametrize(
    ("url", "bucket", "key", "endpoint", "path_style"),
    [
        pytest.param("s3://b/team?endpoint=localhost:5000&disableSSL=true&s3ForcePathStyle=true", "b",
                     "team/.pulumi/alloy-users/create-journal/alloy/prod.json", "http://localhost:5000", True,
                     id="prefixed"),
        pytest.param("s3://b", "b", ".pulumi/alloy-users/create-journal/alloy/prod.json", None, False, id="bucket-root"),
    ],
)
def test_the_journal_lives_where_the_parser_says(url: str, bucket: str, key: str, endpoint, path_style: bool):
    store = journal.store_for(url, "alloy", "organization/alloy/prod")
    assert isinstance(store, journal.S3Journal)
    assert (store.bucket, store.key, store.endpoint, store.path_style) == (bucket, key, endpoint, path_style)


def test_the_journal_region_falls_back_to_aws_region(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert journal.store_for("s3://b", "alloy", "prod").region == "ap-south-1"  # type: ignore[union-attr]
    assert journal.store_for("s3://b?region=eu-west-1", "alloy", "prod").region == "eu-west-1"  # type: ignore[union-attr]


@pytest.mark.parametrize("url", ["s3://", "gs://b", "azblob://c", "https://api.pulumi.com", ""],
                         ids=["s3-no-bucket", "gs", "azblob", "cloud", "empty"])
def test_the_journal_is_not_kept_where_it_cannot_be_written(url: str):
    assert journal.store_for(url, "alloy", "prod") is None


def test_a_file_journal_is_under_the_folder(tmp_path: Path):
    store = journal.store_for(f"file://{tmp_path}", "alloy", "prod")
    assert isinstance(store, journal.FileJournal)
    assert store.path == tmp_path / ".pulumi/alloy-users/create-journal/alloy/prod.json"
