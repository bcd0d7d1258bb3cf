"""Shared fixtures of the test suite."""

# The emulator fixtures (emulator_server, emulator, emulator_factory) and the S3 backend ones (moto_s3, s3_backend, s3_project).
pytest_plugins = ["tests.support.emulator_fixtures", "tests.support.moto_fixtures"]

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.pulumi_harness import PulumiProject


# Proxies, CA bundles and .netrc of the developer's machine, which the client honours (but .netrc).
ENVIRONMENT_NETWORK_SETTINGS = frozenset(
    {"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC"}
)


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's Pulumi or Alloy settings or home folder."""
    import os

    for name in list(os.environ):
        if name.startswith(("PULUMI_", "ALLOY_")) or name.upper() in ENVIRONMENT_NETWORK_SETTINGS:
            monkeypatch.delenv(name)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))


@pytest.fixture
def project(tmp_path: Path, emulator) -> Iterator[Callable[..., PulumiProject]]:
    """``project(manifest_text, *, api_key=..., config={...}) -> PulumiProject``:
    a private copy of the project whose stack points at the test emulator
    (``api_key=""``: the emulator's key; ``None``: no key in config)."""
    counter = iter(range(1000))

    def make(
        manifest: str,
        *,
        api_key: str | None = "",
        config: dict[str, str] | None = None,
        base_url: str | None = None,
    ) -> PulumiProject:
        stack = PulumiProject(tmp_path / f"project-{next(counter)}")
        stack.write_manifest(manifest)
        stack.config_set("alloy:baseUrl", base_url or emulator.url)
        if api_key is not None:
            stack.config_set("alloy:apiKey", api_key or emulator.api_key, secret=True)
        for key, value in (config or {}).items():
            stack.config_set(key, value)
        return stack

    yield make
