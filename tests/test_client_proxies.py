"""Proxies and CA bundles from the environment, as a team behind a corporate
proxy has them, through a real local CONNECT proxy; ``.netrc`` never adds to
or replaces the bearer key, redirects included."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.alloy.client import AlloyClient, ClientSettings, proxy_for
from providers.alloy.errors import UNREACHABLE_PROXY, AlloyConfigError, AlloyUnreachableError
from tests.support.local_proxy import ConnectProxy, RecordingApi
from tests.support.ports import free_port

trustme = pytest.importorskip("trustme")

HOST = "alloy.test"  # a name that only the proxy (or the patched resolver) knows
KEY = "proxy-test-key-5e2a90"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                   "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC")


@pytest.fixture(autouse=True)
def clean_proxy_environment(monkeypatch, tmp_path) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def ca_pem(ca, tmp_path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def other_ca_pem(tmp_path) -> str:
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_api(ca) -> Iterator[RecordingApi]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)
    with RecordingApi(context, host=HOST) as api:
        yield api


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy(hosts={HOST: "127.0.0.1"}) as running:
        yield running


@pytest.fixture
def resolvable(monkeypatch) -> None:
    """``alloy.test`` resolves to 127.0.0.1 for direct connections."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real("127.0.0.1" if host == HOST else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def client_of(url: str, **overrides) -> AlloyClient:
    return AlloyClient(ClientSettings(base_url=url, api_key=KEY, max_retries=0, **overrides))


# -- which proxy (a pure function) ----------------------------------------------------------


@pytest.mark.parametrize(
    "environ, url, expected",
    [
        pytest.param({"HTTPS_PROXY": "http://p:3128"}, "https://alloy.test", "http://p:3128", id="upper"),
        pytest.param({"https_proxy": "http://p:3128"}, "https://alloy.test", "http://p:3128", id="lower"),
        pytest.param({"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:2"}, "https://alloy.test",
                     "http://low:1", id="lower-wins"),
        pytest.param({"https_proxy": "", "HTTPS_PROXY": "http://up:2"}, "https://alloy.test", None,
                     id="empty-lower-disables"),
        pytest.param({"HTTP_PROXY": "http://p:3128"}, "https://alloy.test", None, id="http-proxy-not-for-https"),
        pytest.param({"ALL_PROXY": "http://p:3128"}, "https://alloy.test", "http://p:3128", id="all-proxy"),
        pytest.param({"HTTPS_PROXY": "http://p", "NO_PROXY": "alloy.test"}, "https://alloy.test", None, id="no-proxy-host"),
        pytest.param({"HTTPS_PROXY": "http://p", "no_proxy": ".test"}, "https://alloy.test", None, id="no-proxy-dot-suffix"),
        pytest.param({"HTTPS_PROXY": "http://p", "NO_PROXY": "test"}, "https://api.alloy.test", None, id="no-proxy-suffix"),
        pytest.param({"HTTPS_PROXY": "http://p", "NO_PROXY": "lloy.test"}, "https://alloy.test", "http://p",
                     id="no-proxy-not-a-label-boundary"),
        pytest.param({"HTTPS_PROXY": "http://p", "NO_PROXY": "*"}, "https://alloy.test", None, id="no-proxy-star"),
        pytest.param({"HTTPS_PROXY": "http://p", "NO_PROXY": "a.example, alloy.test:8443"}, "https://alloy.test:8443",
                     None, id="no-proxy-port"),
        pytest.param({"HTTPS_PROXY": "http://p", "NO_PROXY": "alloy.test:8443"}, "https://alloy.test", "http://p",
                     id="no-proxy-other-port"),
        pytest.param({"HTTPS_PROXY": "http://p", "NO_PROXY": "10.0.0.0/8"}, "https://10.1.2.3", None, id="no-proxy-cidr"),
        pytest.param({"HTTPS_PROXY": "http://p", "NO_PROXY": "10.0.0.0/8"}, "https://11.1.2.3", "http://p",
                     id="no-proxy-cidr-miss"),
        pytest.param({"HTTP_PROXY": "http://p", "HTTPS_PROXY": "http://p"}, "http://127.0.0.1:4010", None,
                     id="loopback-v4-never"),
        pytest.param({"HTTPS_PROXY": "http://p"}, "https://localhost:8443", None, id="localhost-never"),
        pytest.param({"HTTP_PROXY": "http://p"}, "http://[::1]:4010", None, id="loopback-v6-never"),
    ],
)
def test_proxy_for(environ, url, expected):
    assert proxy_for(url, environ) == expected


# -- through a real proxy -------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_https_goes_through_the_proxy_from_the_environment(monkeypatch, tls_api, proxy, ca_pem, variable):
    monkeypatch.setenv(variable, proxy.url)
    client = client_of(tls_api.url, ca_bundle=ca_pem)
    assert client.list_users() == []
    assert client.create_user("ada@example.com", None)
    assert proxy.connects == [f"{HOST}:{tls_api.port}"]  # one tunnel, kept alive
    assert [(seen.method, seen.target) for seen in tls_api.seen] == [("GET", "/users?limit=50"), ("POST", "/users")]
    assert tls_api.authorizations == [f"Bearer {KEY}"] * 2
    # The key travels inside the tunnel only: the proxy never sees it.
    assert all("Authorization" not in seen.headers for seen in proxy.seen)


def test_proxy_credentials_go_to_the_proxy_only(monkeypatch, tls_api, proxy, ca_pem):
    monkeypatch.setenv("HTTPS_PROXY", f"http://corp:pr0xy-pass@127.0.0.1:{proxy.port}")
    client_of(tls_api.url, ca_bundle=ca_pem).list_users()
    assert proxy.seen[0].headers.get("Proxy-Authorization", "").startswith("Basic ")
    assert "Proxy-Authorization" not in tls_api.seen[0].headers


@pytest.mark.parametrize("no_proxy", ["alloy.test", ".test", "*", "example.com, alloy.test"])
def test_no_proxy_hosts_bypass_the_proxy(monkeypatch, tls_api, proxy, ca_pem, resolvable, no_proxy):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert client_of(tls_api.url, ca_bundle=ca_pem).list_users() == []
    assert proxy.seen == []
    assert tls_api.authorizations == [f"Bearer {KEY}"]


def test_loopback_never_goes_through_a_proxy(monkeypatch, proxy, emulator):
    """requests would send 127.0.0.1 to the proxy unless NO_PROXY lists it; the
    client does not (as Go's net/http), so the local emulator works behind a proxy."""
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(variable, proxy.url)
    client = AlloyClient(ClientSettings(base_url=emulator.url, api_key=emulator.api_key, max_retries=0))
    client.create_user("ada@example.com", None)
    assert [user.username for user in client.list_users()] == ["ada@example.com"]
    assert proxy.seen == []


def test_an_unreachable_proxy_is_named_without_its_credentials(monkeypatch, tls_api, ca_pem):
    port = free_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://corp:pr0xy-pass@127.0.0.1:{port}")
    with pytest.raises(AlloyUnreachableError) as raised:
        client_of(tls_api.url, ca_bundle=ca_pem).create_user("ada@example.com", None)
    message = str(raised.value)
    assert raised.value.kind == UNREACHABLE_PROXY and raised.value.sent is False
    assert f"proxy 127.0.0.1:{port}" in message and "HTTPS_PROXY" in message and "POST /users" in message
    assert "pr0xy-pass" not in message and "corp" not in message


def test_environment_is_read_when_the_client_is_made_or_given(tls_api, proxy, ca_pem):
    client = AlloyClient(ClientSettings(base_url=tls_api.url, api_key=KEY, max_retries=0, ca_bundle=ca_pem),
                         environ={"HTTPS_PROXY": proxy.url})
    client.list_users()
    assert proxy.connects == [f"{HOST}:{tls_api.port}"]


# -- CA bundles -------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_ca_bundle_from_the_environment(monkeypatch, tls_api, proxy, ca_pem, variable):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with pytest.raises(AlloyUnreachableError, match="TLS verification failed"):
        client_of(tls_api.url).list_users()
    monkeypatch.setenv(variable, ca_pem)
    assert client_of(tls_api.url).list_users() == []


def test_ca_bundle_setting_wins_over_the_environment(monkeypatch, tls_api, proxy, ca_pem, other_ca_pem):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_pem)
    assert client_of(tls_api.url, ca_bundle=ca_pem).list_users() == []
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_pem)
    with pytest.raises(AlloyUnreachableError, match="TLS verification failed"):
        client_of(tls_api.url, ca_bundle=other_ca_pem).list_users()


def test_a_ca_bundle_variable_naming_no_file_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(AlloyConfigError, match="REQUESTS_CA_BUNDLE names"):
        client_of("https://alloy.test")


# -- .netrc never replaces or adds to the key ------------------------------------------------------


@pytest.fixture
def netrc(tmp_path, monkeypatch) -> Path:
    path = Path.home() / ".netrc"
    machines = [HOST, "127.0.0.1", "localhost"]
    path.write_text("".join(f"machine {m}\n  login netrc-user\n  password netrc-pass\n" for m in machines))
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))
    return path


def test_netrc_is_ignored_through_the_proxy(monkeypatch, netrc, tls_api, proxy, ca_pem):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    client_of(tls_api.url, ca_bundle=ca_pem).list_users()
    assert tls_api.authorizations == [f"Bearer {KEY}"]


def test_netrc_is_ignored_on_loopback_and_on_redirects(netrc):
    with RecordingApi() as api, RecordingApi(host="localhost") as elsewhere:
        api.redirect("/users", f"{api.url}/v2/users")          # same host: the key follows
        api.redirect("/v2/users", f"{elsewhere.url}/users")    # another host: no credentials at all
        client = client_of(api.url)
        client.list_users()
        assert api.authorizations == [f"Bearer {KEY}"] * 2
        assert elsewhere.authorizations == [None]
