"""The emulator as a process: ready line, ready file, keys from flags and environment, clean stops."""

from __future__ import annotations

import ast
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from emulator.defaults import API_KEYS_ENV
from emulator.ids import new_user_id
from emulator.testing import EmulatorProcess, EmulatorStartError, EmulatorThread

TIMEOUT_S = 5


def status_with_key(process: EmulatorProcess | EmulatorThread, key: str) -> int:
    return requests.get(process.users_url(), headers=process.headers(api_key=key), timeout=TIMEOUT_S).status_code


@pytest.mark.parametrize(
    "sig", [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]
)
def test_a_signal_stops_the_process_cleanly_with_exit_code_0(
    emulator_factory: Callable[..., EmulatorProcess], sig: int
) -> None:
    process = emulator_factory()
    requests.post(process.users_url(), json={"username": "a"}, headers=process.headers(), timeout=TIMEOUT_S)
    assert process.stop(sig=sig) == 0
    assert "Traceback" not in process.stderr_text()


def test_stop_cancels_a_slow_response_still_waited_for(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    grace_s = 1  # whole seconds (uvicorn takes an int)
    process = emulator_factory(
        args=["--slow-after-commit-rate", "1", "--slow-s", "60", "--graceful-shutdown-s", str(grace_s)]
    )
    host, port = process.url.removeprefix("http://").split(":")
    body = b'{"username": "a"}'
    head = "".join(f"{name}: {value}\r\n" for name, value in process.headers().items())
    with socket.create_connection((host, int(port)), timeout=TIMEOUT_S) as client:
        client.sendall(
            f"POST /users HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        while not process.users():  # committed; the response is now being held
            time.sleep(0.02)
        started = time.monotonic()
        assert process.stop(timeout_s=15) == 0
        assert time.monotonic() - started < 10  # far below slow_s


def test_ready_line_and_ready_file_give_the_url(
    emulator_factory: Callable[..., EmulatorProcess], tmp_path: Path
) -> None:
    ready_file = tmp_path / "run" / "emulator.url"
    process = emulator_factory(args=["--ready-file", str(ready_file)])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", process.url)
    assert ready_file.read_text(encoding="utf-8") == process.url + "\n"
    assert process.stop() == 0
    assert not ready_file.exists()


def test_ready_line_is_exactly_one_flushed_stdout_line(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "emulator", "--port", "0", "--db", ":memory:"]
    root = Path(__file__).resolve().parents[1]
    with subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as child:
        assert child.stdout is not None
        line = child.stdout.readline()
        child.send_signal(signal.SIGTERM)
        rest = child.stdout.read()
        assert child.wait(timeout=10) == 0
    assert re.fullmatch(r"emulator listening on http://127\.0\.0\.1:\d+\n", line)
    assert rest == ""


def test_a_chosen_port_is_used(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = emulator_factory(port=port)
    assert process.url == f"http://127.0.0.1:{port}"


def test_a_taken_port_fails_fast_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = EmulatorProcess(port=taken.getsockname()[1], startup_timeout_s=10)
        with pytest.raises(EmulatorStartError, match="cannot listen"):
            process.start()
    assert process.returncode == 1


def test_keys_come_from_flags_and_environment(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    process = emulator_factory(
        api_key="env-one", env={API_KEYS_ENV: "env-one, env-two"}, args=["--api-key", "flag-three"]
    )
    for key in ("env-one", "env-two", "flag-three"):
        assert status_with_key(process, key) == 200, key
    assert status_with_key(process, "dev-key") == 401


def test_without_any_key_the_default_dev_key_works(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    process = emulator_factory(api_key="dev-key", env={API_KEYS_ENV: ""})
    assert status_with_key(process, "dev-key") == 200


def test_in_process_emulator_serves_the_same_api() -> None:
    with EmulatorThread(api_key="thread-key") as emulator:
        user_id = new_user_id()
        emulator.admin.seed_user("jane", user_id=user_id)
        response = requests.get(emulator.users_url("jane"), headers=emulator.headers(), timeout=TIMEOUT_S)
        assert response.json() == {"userId": user_id, "username": "jane", "fullName": None}
        emulator.admin.set_faults(fail_next=["drop"])
        with pytest.raises(requests.ConnectionError):
            requests.delete(emulator.users_url("jane"), headers=emulator.headers(), timeout=TIMEOUT_S)
        assert emulator.users() == []


def test_the_launcher_lives_in_emulator_process_and_testing_re_exports_it() -> None:
    import emulator.process
    import emulator.testing

    for name in ("EmulatorProcess", "AdminClient", "AdminError", "EmulatorStartError", "EmulatorHandle"):
        assert getattr(emulator.testing, name) is getattr(emulator.process, name), name
    assert not hasattr(emulator.process, "EmulatorThread")
    local_up = (Path(__file__).resolve().parents[1] / "scripts" / "local_up.py").read_text(encoding="utf-8")
    assert "from emulator.process import EmulatorProcess" in local_up
    assert "emulator.testing" not in local_up


def test_the_launcher_does_not_import_the_server() -> None:
    code = "import sys, emulator.process; print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn')))"
    root = Path(__file__).resolve().parents[1]
    output = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_the_emulator_imports_nothing_from_providers_or_review() -> None:
    package = Path(__file__).resolve().parents[1] / "emulator"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in ("providers", "review")]
    assert offenders == []


@pytest.mark.parametrize(
    ("kwargs", "flags"),
    [
        pytest.param({}, [], id="defaults-add-no-flag"),
        pytest.param({"case_insensitive_usernames": True}, ["--case-insensitive-usernames"], id="case-insensitive"),
        pytest.param({"immutable_usernames": "ignore"}, ["--immutable-usernames", "ignore"], id="immutable-ignore"),
        pytest.param({"immutable_usernames": "off"}, [], id="immutable-off"),
        pytest.param({"page_size": 50}, ["--page-size", "50"], id="page-size"),
        pytest.param({"unauthorized_body": "legacy"}, ["--unauthorized-body", "legacy"], id="legacy-401"),
    ],
)
def test_variant_keywords_become_start_flags(kwargs: dict[str, object], flags: list[str]) -> None:
    process = EmulatorProcess(args=["--log-level", "info"], **kwargs)  # type: ignore[arg-type]
    assert process.command[-len(flags) - 2 :] == [*flags, "--log-level", "info"]
    assert process.variant_args == flags
