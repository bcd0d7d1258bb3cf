"""End-to-end: bad settings stop the run with one actionable message before
any user is touched."""

from __future__ import annotations


import pytest
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

ONE_USER = "users:\n  - username: ada@example.com\n"




def distinct_errors(output: str) -> set[str]:
    """The different error messages (the CLI repeats each in progress and diagnostics)."""
    return {line.split("error: ", 1)[1].strip() for line in output.splitlines() if "error: " in line}


@pytest.mark.parametrize(
    "settings, expected",
    [
        pytest.param(dict(api_key=None), ["alloy:apiKey", "ALLOY_API_KEY"], id="missing-key"),
        pytest.param(dict(base_url="http://alloy.example.com"), ["alloy:baseUrl", "https"], id="plain-http-remote"),
        pytest.param(dict(config={"alloy:timeoutSeconds": "0"}), ["alloy:timeoutSeconds"], id="zero-timeout"),
        pytest.param(dict(config={"alloy:adoptExisting": "maybe"}), ["adoptExisting", "boolean"], id="not-a-boolean"),
        pytest.param(dict(config={"alloy:manifest": "missing.yaml"}), ["missing.yaml", "not found"], id="missing-manifest"),
        pytest.param(dict(config={"alloy:caBundle": "/nonexistent/ca.pem"}), ["alloy:caBundle"], id="missing-ca-bundle"),
    ],
)
def test_bad_setting_stops_preview_with_one_message_and_no_call(project, emulator, settings, expected):
    stack = project(ONE_USER, **settings)
    result = stack.preview(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for fragment in expected:
        assert fragment in output
    assert "Traceback" not in output
    assert len(distinct_errors(output)) == 1, output
    assert emulator.request_count() == 0


def test_key_from_the_environment_is_enough(project, emulator):
    stack = project(ONE_USER, api_key=None)
    stack.up(env={"ALLOY_API_KEY": emulator.api_key})
    assert [u["username"] for u in emulator.users()] == ["ada@example.com"]


def test_unreachable_api_names_the_base_url(project, emulator):
    url = f"http://127.0.0.1:{free_port()}"
    stack = project(ONE_USER, base_url=url, config={"alloy:maxRetries": "1"})
    result = stack.up(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "unreachable" in output and url in output and "alloy:baseUrl" in output
    assert "Traceback" not in output
