"""A provider host whose CLI was killed sends no more writes.

The dynamic provider host serves 4 calls at once and queues the rest; when
the CLI is killed (``kill -9``, a cancelled job), the queued creates would
still run, creating users that no state records and that recovery may look
for before they land (then the next run reports them as adopted). The host
ends as soon as its parent changes, and every write checks first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from providers.alloy.client import AlloyClient, ClientSettings
from providers.stack import provider_host
from providers.stack.provider_host import EngineGoneError
from tests.support.fake_alloy import FAKE_URL, FakeAlloy, MockTransport, Reply
from tests.support.manifests import numbered_users
from tests.support.pulumi_harness import REPO


@pytest.fixture
def host_lineage(monkeypatch):
    """Pretend to be the provider host: ``(started process, CLI pid)``."""

    def started(child: int, cli: int) -> None:
        monkeypatch.setattr(provider_host, "_lineage", (child, cli))
        monkeypatch.setattr(provider_host, "_engine_lost", type(provider_host._engine_lost)())

    return started


def test_outside_the_provider_host_the_engine_is_never_gone():
    assert provider_host._lineage is None
    assert provider_host.engine_gone() is False
    provider_host.refuse_if_engine_gone("POST /users")  # no error


def test_a_host_started_directly_sees_the_cli_as_its_parent():
    assert provider_host.started_by() == (os.getpid(), os.getppid())


def test_a_host_started_through_the_sdk_wrapper_watches_the_wrappers_parent(tmp_path):
    wrapper = tmp_path / provider_host.WRAPPER_SCRIPT
    probe = "from providers.stack.provider_host import started_by; import os; print(*started_by(), os.getppid())"
    # Like the SDK's script: a shell that runs python without exec.
    wrapper.write_text(f'#!/bin/sh\n"{sys.executable}" -c "{probe}"\necho done\n')
    wrapper.chmod(0o755)
    shown = subprocess.run([str(wrapper)], capture_output=True, text=True, cwd=REPO, check=True).stdout.split()
    child, cli, python_parent = (int(value) for value in shown[:3])
    assert child == python_parent  # the wrapper shell
    assert cli == os.getpid()  # the process that started the wrapper


def test_the_engine_is_there_while_the_cli_is_the_parent(host_lineage):
    host_lineage(os.getpid(), os.getppid())
    assert provider_host.engine_gone() is False


def test_a_living_wrappers_parent_is_checked_too(host_lineage):
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        host_lineage(helper.pid, os.getpid())
        assert provider_host.engine_gone() is False
        host_lineage(helper.pid, os.getpid() + 1_000_000)  # re-parented: its CLI died
        assert provider_host.engine_gone() is True
    finally:
        helper.kill()
        helper.wait()


def test_a_changed_parent_means_the_engine_is_gone_and_writes_are_refused(host_lineage):
    host_lineage(os.getpid(), os.getppid() + 1_000_000)  # the CLI died: the host was re-parented
    assert provider_host.engine_gone() is True
    with pytest.raises(EngineGoneError) as refused:
        provider_host.refuse_if_engine_gone("POST /users")
    message = str(refused.value)
    assert message.startswith("not sent: POST /users;")
    assert "scripts.recover" in message


def client_with_hook(fake: FakeAlloy, hook) -> AlloyClient:
    settings = ClientSettings(base_url=FAKE_URL, api_key=fake.api_key, max_retries=2, backoff_s=0.001)
    return AlloyClient(settings, transport=MockTransport(fake), before_write=hook)


def test_the_write_hook_runs_before_every_write_attempt_and_never_for_reads():
    fake = FakeAlloy()
    seen: list[str] = []
    client = client_with_hook(fake, lambda method, path: seen.append(f"{method} {path}"))
    fake.script("PUT /users/{ref}", lambda r, f: Reply(503, {}), times=1)  # retried: two attempts
    user_id = client.create_user("ada@example.com", "Ada")
    client.list_users()
    client.get_user(user_id)
    client.update_user(user_id, full_name="Ada L.")
    client.delete_user(user_id)
    assert seen == ["POST /users", f"PUT /users/{user_id}", f"PUT /users/{user_id}", f"DELETE /users/{user_id}"]


def test_a_refusing_write_hook_stops_the_request_unsent():
    fake = FakeAlloy()

    def refuse(method: str, path: str) -> None:
        raise EngineGoneError(f"{method} {path}")

    with pytest.raises(EngineGoneError):
        client_with_hook(fake, refuse).create_user("ada@example.com", None)
    assert fake.lines() == []
    assert fake.users == []


@pytest.mark.e2e
def test_a_create_waiting_to_retry_is_not_sent_once_the_cli_is_killed(project, emulator):
    stack = project(numbered_users(1))
    # Every create is rate-limited: the provider waits Retry-After, then posts again.
    emulator.admin.set_faults(rate_limit_rate=1.0, retry_after_s=2, routes=["POST /users"])
    run = subprocess.Popen(
        ["pulumi", "--non-interactive", "up", "--yes", "--skip-preview"],
        cwd=stack.work, env=stack.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None and not [
        entry for entry in emulator.requests() if entry["method"] == "POST" and entry["status"] == 429
    ]:
        time.sleep(0.01)
    assert run.poll() is None, "the run ended before it could be killed"
    os.kill(run.pid, signal.SIGKILL)  # the CLI alone: its plugins are orphaned
    run.wait()
    emulator.admin.set_faults()  # the retry would now succeed
    time.sleep(4)  # past the Retry-After, and past the old watchdog's 2-4 s
    posts = [entry for entry in emulator.requests() if entry["method"] == "POST"]
    assert [entry["status"] for entry in posts] == [429]
    assert emulator.users() == []
