"""``make up`` (scripts/local_up.py) applies through the deletion guard:
``python -m review apply`` instead of a bare ``pulumi up``. The guard itself
runs for real in tests/test_review_e2e.py; here the CLI and the emulator are
stand-ins, so this is fast."""

from __future__ import annotations

import pytest

from scripts import local_up


class StandInEmulator:
    url = "http://127.0.0.1:9"

    def __init__(self, **_settings: object) -> None:
        self.stopped = False

    def start(self) -> "StandInEmulator":
        return self

    def stop(self) -> None:
        self.stopped = True


@pytest.mark.parametrize(
    ("argv", "review_status", "command", "exit_code"),
    [
        pytest.param([], 0, "apply", None, id="guard-passes-then-outputs"),
        pytest.param([], 3, "apply", 3, id="guard-blocks"),
        pytest.param(["--plan"], 0, "plan", 0, id="make-plan"),
    ],
)
def test_make_up_goes_through_the_guard(monkeypatch, tmp_path, argv, review_status, command, exit_code):
    pulumi_calls: list[tuple[str, ...]] = []
    review_calls: list[list[str]] = []
    monkeypatch.setattr(local_up, "STATE", tmp_path)
    monkeypatch.setattr(local_up, "EmulatorProcess", StandInEmulator)
    monkeypatch.setattr(local_up, "recover", lambda *_args: [])  # tested for real in test_interrupted_runs.py
    monkeypatch.setattr(local_up, "pulumi", lambda *args, capture=False: pulumi_calls.append(args) or "{}")
    monkeypatch.setattr(local_up.review, "main", lambda args, environ: review_calls.append(args) or review_status)
    monkeypatch.setenv("ALLOY_ALLOW_DELETES", "7")

    if exit_code is None:
        local_up.main(argv)
    else:
        with pytest.raises(SystemExit) as stopped:
            local_up.main(argv)
        assert stopped.value.code == exit_code
    assert review_calls == [[command, "--stack", "local", "--cwd", str(local_up.REPO)]]
    assert not [call for call in pulumi_calls if call[0] in ("up", "destroy")]
    assert (("stack", "output", "userIds", "--json") in pulumi_calls) is (exit_code is None)
    assert local_up.pulumi_env()["ALLOY_ALLOW_DELETES"] == "7"
