"""The wrapper's previews skip the CLI's per-step snapshot work: a preview
saves no checkpoint, yet with checkpoints on the CLI serialises and verifies
the whole snapshot after each planned step (quadratic in the creates)."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from review import preview

FAKE_CLI = """#!{python}
import json, os
print(json.dumps({{"steps": [], "skip": os.environ.get("PULUMI_SKIP_CHECKPOINTS"),
                  "kept": os.environ.get("ALLOY_TEST_KEPT")}}))
"""


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "pulumi"
    script.write_text(FAKE_CLI.format(python=sys.executable), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(preview, "PULUMI", str(script))
    return script


@pytest.mark.parametrize("given", [None, "false", "true"], ids=["unset", "kept-by-the-user", "already-skipped"])
def test_the_preview_runs_with_checkpoints_skipped(fake_cli, tmp_path, given):
    env = {"ALLOY_TEST_KEPT": "yes", "PATH": "/usr/bin:/bin"}
    if given is not None:
        env["PULUMI_SKIP_CHECKPOINTS"] = given
    run = preview.run_preview(tmp_path, env=env)
    assert run.document["skip"] == "true"
    # The rest of the caller's environment reaches the CLI unchanged.
    assert run.document["kept"] == "yes"


def test_the_callers_environment_is_not_modified(fake_cli, tmp_path):
    env = {"PATH": "/usr/bin:/bin"}
    preview.run_preview(tmp_path, env=env)
    assert env == {"PATH": "/usr/bin:/bin"}
