"""Processes started with SIGINT ignored (a background shell, some CI
runners) still end on SIGINT, as the engine expects when it closes its
plugins; and the language host's own Go tests."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import sys, threading, time
    from providers.stack.provider_host import restore_default_sigint
    changed = []
    worker = threading.Thread(target=lambda: changed.append(restore_default_sigint()))
    worker.start(); worker.join()
    print("changed" if changed[0] else "unchanged", flush=True)
    time.sleep(30)
    """
)


def test_the_provider_host_ends_on_sigint_when_started_with_it_ignored():
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], cwd=REPO, stdout=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert child.stdout.readline().strip() == "changed"  # set from a non-main thread
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=10) == -signal.SIGINT
    finally:
        child.kill()
        child.wait()


def test_an_interactive_sigint_is_left_to_python():
    child = subprocess.run(
        [sys.executable, "-c", "from providers.stack.provider_host import restore_default_sigint as r; print(r())"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert child.stdout.strip() == "False"


def test_the_language_host_go_tests_pass():
    go = shutil.which("go")
    if go is None:
        pytest.skip("no Go toolchain to run the language host's tests")
    result = subprocess.run(
        [go, "test", "./language-python/"], cwd=REPO / "pulumi-cli", capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
