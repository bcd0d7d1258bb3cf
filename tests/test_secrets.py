"""The API key never leaks, and TLS is verified.

- A whole lifecycle (preview, up, refresh, update, destroy) with a distinctive
  key, from stack config (``--secret``) or from ``ALLOY_API_KEY``: the key is in
  no CLI output, no file the runs wrote (state, backups, history, config, home,
  temp), no exported state, not in the emulator's request log or stderr.
  ``pulumi stack export --show-secrets`` reveals it in one place only, by
  design of the engine: the default provider's ``alloy:apiKey`` config, kept
  encrypted in state, in the config case.
- A plain-text ``alloy:apiKey`` is refused without being echoed.
- Client error messages never carry the key.
- TLS: verification is on for every https URL, loopback included; a private
  CA is trusted through ``alloy:caBundle`` (a real TLS server with a trustme CA).
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.alloy.client import AlloyClient, ClientSettings, validate_base_url
from providers.alloy.errors import AlloyAuthError, AlloyConfigError, AlloyUnreachableError
from providers.alloy.settings import read_settings
from tests.support.scripted_api import ScriptedApi
from tests.support.manifests import TWO_USERS
from tests.support.ports import free_port

DEFAULT_PROVIDER_TYPE = "pulumi:providers:pulumi-python"


def distinctive_key() -> str:
    return f"alloy-test-key-{secrets.token_hex(12)}"


def files_containing(root: Path, text: str) -> list[Path]:
    """Files under ``root`` whose bytes contain ``text`` (symlinks, such as the
    project's ``.venv``, are not followed)."""
    needle = text.encode()
    found = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if not path.is_symlink() and needle in path.read_bytes():
                found.append(path)
    return found


def without_provider_api_key(deployment: dict[str, Any]) -> dict[str, Any]:
    """The deployment minus ``alloy:apiKey`` in the default provider's config."""
    copy = json.loads(json.dumps(deployment))
    for resource in copy["deployment"].get("resources", []):
        if resource["type"] == DEFAULT_PROVIDER_TYPE:
            for section in ("inputs", "outputs"):
                resource.get(section, {}).pop("alloy:apiKey", None)
    return copy


# -- the whole lifecycle through the real CLI ------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("source", ["config-secret", "env-var"])
def test_the_key_never_leaks_through_a_whole_lifecycle(project, emulator_factory, source):
    key = distinctive_key()
    alloy = emulator_factory(api_key=key)
    in_config = source == "config-secret"
    stack = project(TWO_USERS, api_key=key if in_config else None, base_url=alloy.url)
    temp = stack.root / "tmp"
    temp.mkdir()
    env = {"TMPDIR": str(temp), **({} if in_config else {"ALLOY_API_KEY": key})}

    runs = [
        stack.run("preview", env=env),
        stack.run("up", "--yes", "--skip-preview", env=env),
        stack.run("refresh", "--yes", "--skip-preview", env=env),
    ]
    stack.write_manifest(TWO_USERS.replace("Ada Lovelace", "Ada King"))
    runs.append(stack.run("up", "--yes", "--skip-preview", env=env))
    revealed = stack.run("stack", "export", "--show-secrets", env=env)
    runs += [
        revealed,
        stack.run("stack", "export", env=env),
        stack.run("stack", "output", "--show-secrets", "--json", env=env),
        stack.run("config", env=env),
        stack.run("destroy", "--yes", "--skip-preview", env=env),
    ]

    requests_log = alloy.requests()
    assert {entry["auth"] for entry in requests_log} == {"ok"}  # the key was really used
    assert {"POST", "GET", "PUT", "DELETE"} <= {entry["method"] for entry in requests_log}
    assert alloy.users() == []
    for result in runs:
        shown = result.stderr + ("" if result is revealed else result.stdout)
        assert key not in shown, result.args
    assert files_containing(stack.root, "grace@example.com")  # the scan does see the state files
    assert files_containing(stack.root, key) == []
    assert key not in json.dumps(requests_log)
    assert key not in alloy.stderr_text()
    assert key not in json.dumps(alloy.admin.counters())

    # The engine keeps the provider's config in state, the key encrypted:
    # only `--show-secrets` decrypts it, and only there does it appear.
    assert (key in revealed.stdout) is in_config
    assert key not in json.dumps(without_provider_api_key(json.loads(revealed.stdout)))


@pytest.mark.e2e
def test_a_plain_text_key_in_stack_config_is_refused_without_echoing_it(project, emulator):
    key = distinctive_key()
    stack = project(TWO_USERS, api_key=None, config={"alloy:apiKey": key})
    for result in (stack.preview(check=False), stack.up(check=False)):
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "alloy:apiKey is stored in plain text" in output
        assert "pulumi config set --secret alloy:apiKey" in output
        assert key not in output
    assert emulator.request_count() == 0
    assert stack.resources() == []


# -- error messages of the client ------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda client: client.create_user("ada@example.com", "Ada"), id="create"),
        pytest.param(lambda client: client.get_user("0" * 24), id="get"),
        pytest.param(lambda client: client.list_users(), id="list"),
        pytest.param(lambda client: client.find_user_by_username("ada@example.com"), id="find"),
        pytest.param(lambda client: client.update_user("0" * 24, full_name="Ada"), id="update"),
        pytest.param(lambda client: client.delete_user("0" * 24), id="delete"),
    ],
)
def test_auth_errors_name_the_setting_never_the_key(emulator, operation):
    key = distinctive_key()
    client = AlloyClient(ClientSettings(base_url=emulator.url, api_key=key, max_retries=0))
    try:
        with pytest.raises(AlloyAuthError) as raised:
            operation(client)
    finally:
        client.close()
    message = str(raised.value)
    assert "401" in message and "alloy:apiKey" in message
    assert key not in message and key not in repr(raised.value)
    assert key not in emulator.stderr_text()


def test_unreachable_errors_and_settings_reprs_never_show_the_key():
    key = distinctive_key()
    url = f"http://127.0.0.1:{free_port()}"
    settings = read_settings({"alloy:baseUrl": url, "alloy:apiKey": key, "alloy:maxRetries": "0"}.get, environ={})
    client = AlloyClient(settings.client)
    try:
        with pytest.raises(AlloyUnreachableError) as raised:
            client.list_users()
    finally:
        client.close()
    for text in (str(raised.value), repr(settings), repr(settings.client), repr(client)):
        assert key not in text


# -- TLS -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://production.runalloy.com", id="public-host"),
        pytest.param("http://10.1.2.3:4010", id="private-address"),
        pytest.param("http://localhost.example.com", id="localhost-prefix"),
        pytest.param("http://127.0.0.1.example.com", id="loopback-lookalike"),
    ],
)
def test_plain_http_is_refused_off_this_machine(url):
    with pytest.raises(AlloyConfigError, match="must use https"):
        validate_base_url(url)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://production.runalloy.com", id="public-host"),
        pytest.param("https://localhost:8443", id="localhost"),
        pytest.param("https://127.0.0.1:8443", id="loopback-address"),
    ],
)
def test_certificates_are_verified_for_every_https_url(url):
    client = AlloyClient(ClientSettings(base_url=url, api_key="k"), environ={})
    try:
        assert client.verify is True
    finally:
        client.close()


def test_ca_bundle_setting_replaces_the_system_cas(tmp_path):
    bundle = tmp_path / "private-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    settings = read_settings({"alloy:baseUrl": "https://alloy.internal", "alloy:apiKey": "k",
                              "alloy:caBundle": str(bundle)}.get, environ={})
    client = AlloyClient(settings.client)
    try:
        assert client.verify == str(bundle)
    finally:
        client.close()


@pytest.fixture(scope="module")
def private_ca():
    """A throwaway certificate authority (trustme)."""
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


@pytest.fixture
def ca_bundle(private_ca, tmp_path) -> Path:
    path = tmp_path / "private-ca.pem"
    private_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def tls_api(private_ca, emulator) -> Iterator[ScriptedApi]:
    """The emulator behind HTTPS, with a certificate for localhost signed by the private CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    private_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    with ScriptedApi(emulator.url, ssl_context=context) as api:
        yield api


def test_a_private_ca_is_refused_without_the_bundle_and_trusted_with_it(tls_api, emulator, ca_bundle):
    url = f"https://localhost:{tls_api.port}"
    untrusting = AlloyClient(ClientSettings(base_url=url, api_key=emulator.api_key, max_retries=0))
    trusting = AlloyClient(ClientSettings(base_url=url, api_key=emulator.api_key, max_retries=0, ca_bundle=str(ca_bundle)))
    try:
        with pytest.raises(AlloyUnreachableError) as raised:
            untrusting.list_users()
        assert "TLS verification failed" in str(raised.value) and "alloy:caBundle" in str(raised.value)
        assert "GET /users" in str(raised.value)
        assert tls_api.calls == []  # nothing was sent over the unverified connection
        trusting.create_user("ada@example.com", "Ada Lovelace")
        assert [user.username for user in trusting.list_users()] == ["ada@example.com"]
    finally:
        untrusting.close()
        trusting.close()


def test_the_host_name_is_checked_on_loopback_too(private_ca, emulator, tmp_path):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    private_ca.issue_cert("alloy.internal").configure_cert(context)
    bundle = tmp_path / "private-ca.pem"
    private_ca.cert_pem.write_to_path(str(bundle))
    with ScriptedApi(emulator.url, ssl_context=context) as api:
        client = AlloyClient(ClientSettings(base_url=f"https://localhost:{api.port}", api_key=emulator.api_key,
                                            max_retries=0, ca_bundle=str(bundle)))
        try:
            with pytest.raises(AlloyUnreachableError, match="TLS verification failed"):
                client.list_users()
        finally:
            client.close()
        assert api.calls == []


@pytest.mark.e2e
def test_ca_bundle_config_reaches_the_provider(project, tls_api, emulator, ca_bundle):
    stack = project(TWO_USERS, base_url=f"https://localhost:{tls_api.port}")
    refused = stack.up(check=False)
    assert refused.returncode != 0
    assert "TLS verification failed (set alloy:caBundle for a private CA)" in refused.stdout + refused.stderr
    assert emulator.users() == []

    stack.config_set("alloy:caBundle", str(ca_bundle))
    stack.up()
    assert sorted(user["username"] for user in emulator.users()) == ["ada@example.com", "grace@example.com"]
