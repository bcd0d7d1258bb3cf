"""``python -m review``: exit codes, outputs, acknowledgements, the adoption
check against the emulator, and a stand-in ``pulumi`` for the CLI's edges
(the real CLI runs in tests/test_review_e2e.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from review.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "preview"


def document(name: str, **config: str) -> dict[str, Any]:
    doc = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    doc["config"].update(config)
    return doc


@pytest.fixture
def saved(tmp_path: Path):
    """``saved(name, **config) -> path`` of a fixture document, config overridden."""

    def save(name: str, **config: str) -> str:
        path = tmp_path / f"{name}-preview.json"
        path.write_text(json.dumps(document(name, **config)), encoding="utf-8")
        return str(path)

    return save


@pytest.fixture
def fake_pulumi(tmp_path: Path):
    """``fake_pulumi(stdout, status=0, max_deletes="") -> environ``: a ``pulumi``
    on PATH that prints ``stdout`` for ``preview`` and logs its arguments."""

    def make(stdout: str, status: int = 0, max_deletes: str = "") -> dict[str, str]:
        folder = tmp_path / "fake-bin"
        folder.mkdir(exist_ok=True)
        (tmp_path / "preview.out").write_text(stdout, encoding="utf-8")
        script = folder / "pulumi"
        script.write_text(
            "#!/bin/sh\n"
            'echo "$*" >> "$FAKE_LOG"\n'
            'case "$1" in\n'
            '  preview) cat "$FAKE_OUT"; echo "error: something broke" >&2; exit "$FAKE_STATUS" ;;\n'
            '  config) [ -n "$FAKE_MAX_DELETES" ] || exit 255; echo "$FAKE_MAX_DELETES" ;;\n'
            "esac\n",
            encoding="utf-8",
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return {
            "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
            "FAKE_LOG": str(tmp_path / "pulumi.log"),
            "FAKE_OUT": str(tmp_path / "preview.out"),
            "FAKE_STATUS": str(status),
            "FAKE_MAX_DELETES": max_deletes,
        }

    return make


@pytest.mark.parametrize(
    ("name", "status"),
    [
        pytest.param("create", 0, id="creates"),
        pytest.param("changes", 0, id="mixed-changes"),
        pytest.param("nochange", 0, id="no-change"),
        pytest.param("truncated", 3, id="truncated-manifest-blocked"),
        pytest.param("protected", 1, id="protected-delete-fails-preview"),
        pytest.param("invalid", 1, id="invalid-manifest"),
    ],
)
def test_exit_status_of_plan_and_guard(saved, name, status, capsys):
    path = saved(name)
    assert main(["plan", "--preview-json", path], environ={}) == status
    assert capsys.readouterr().out.startswith("<!-- alloy-users-plan stack=test -->\n")
    assert main(["guard", "--preview-json", path], environ={}) == status
    assert capsys.readouterr().out.startswith("deletion guard: ")


@pytest.mark.parametrize(
    ("args", "environ", "config", "status"),
    [
        pytest.param(["--allow-deletes", "10"], {}, {}, 0, id="flag-exact"),
        pytest.param(["--allow-deletes", "9"], {}, {}, 3, id="flag-too-few"),
        pytest.param(["--allow-deletes", "11"], {}, {}, 3, id="flag-too-many"),
        pytest.param([], {"ALLOY_ALLOW_DELETES": "10"}, {}, 0, id="env-exact"),
        pytest.param([], {"ALLOY_ALLOW_DELETES": "100"}, {}, 3, id="env-typo"),
        pytest.param(["--max-deletes", "10"], {}, {}, 0, id="raised-limit-flag"),
        pytest.param([], {}, {"alloy:maxDeletes": "10"}, 0, id="raised-limit-config"),
        pytest.param(["--max-deletes", "9"], {}, {"alloy:maxDeletes": "10"}, 3, id="flag-beats-config"),
        pytest.param(["--allow-deletes", "all"], {}, {}, 2, id="flag-not-a-number"),
        pytest.param([], {"ALLOY_ALLOW_DELETES": "yes"}, {}, 2, id="env-not-a-number"),
        pytest.param([], {}, {"alloy:maxDeletes": "many"}, 2, id="config-not-a-number"),
    ],
)
def test_acknowledging_or_raising_the_limit(saved, args, environ, config, status, capsys):
    assert main(["guard", "--preview-json", saved("truncated", **config), *args], environ=environ) == status


def test_a_limit_of_zero_blocks_any_deletion(saved):
    assert main(["guard", "--preview-json", saved("changes", **{"alloy:maxDeletes": "0"})], environ={}) == 3


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param("Leavers of Q3.\r\n\r\nAlloy-Allow-Deletes: 10\r\n", 0, id="exact"),
        pytest.param("Alloy-Allow-Deletes: 5\n", 3, id="stale-count"),
        pytest.param("Alloy-Allow-Deletes: ten\n", 2, id="malformed"),
        pytest.param("No acknowledgement here.\n", 3, id="absent"),
    ],
)
def test_acknowledgement_from_the_pull_request_description(saved, tmp_path, body, status):
    pr_body = tmp_path / "pr-body.txt"
    pr_body.write_text(body, encoding="utf-8", newline="")
    assert main(["plan", "--preview-json", saved("truncated"), "--pr-body", str(pr_body),
                 "--output", str(tmp_path / "plan.md")], environ={}) == status


def test_usage_errors_are_reported_on_stderr(saved, capsys):
    assert main(["guard", "--preview-json", saved("truncated"), "--allow-deletes", "-1"], environ={}) == 2
    assert "--allow-deletes must be a whole number of deletions, such as 3" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["guard", "--max-deletes", "five"], environ={})
    assert usage.value.code == 2


def test_output_and_summary_files(saved, tmp_path, capsys):
    output, summary = tmp_path / "plan.md", tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    assert main(["plan", "--preview-json", saved("changes"), "--output", str(output), "--summary", str(summary),
                 "--commit", "0123456789abcdef0123"], environ={}) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("deletion guard: passed")
    assert output.read_text(encoding="utf-8").startswith(
        "<!-- alloy-users-plan stack=test -->\n### Alloy users plan for stack `test` at `0123456789ab`\n"
    )
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + output.read_text(encoding="utf-8")


def test_adoption_is_predicted_with_one_read_only_call(saved, emulator, capsys):
    existing = emulator.admin.seed_user("ada@example.com", "Ada L.")
    emulator.reset_log()
    path = saved("create", **{"alloy:baseUrl": emulator.url})
    assert main(["plan", "--preview-json", path], environ={"ALLOY_API_KEY": emulator.api_key}) == 0
    captured = capsys.readouterr()
    assert (f"| `+ adopt` | `ada@example.com` | already in Alloy (userId `{existing}`): taken over, not created; "
            'fullName: `"Ada L."` -> `"Ada Lovelace"` |') in captured.out
    assert "**Plan: 2 to create, 1 to adopt; 0 unchanged.**" in captured.out
    assert [(r["method"], r["route"]) for r in emulator.requests()] == [("GET", "GET /users")]
    assert emulator.api_key not in captured.out + captured.err


def test_a_refused_adoption_check_is_a_note_without_the_key(saved, emulator, capsys):
    wrong_key = "wrong-key-0123456789abcdef"
    path = saved("create", **{"alloy:baseUrl": emulator.url})
    assert main(["plan", "--preview-json", path], environ={"ALLOY_API_KEY": wrong_key}) == 0
    out = capsys.readouterr().out
    assert "Adoption was not predicted: `Alloy API 401" in out
    assert wrong_key not in out and emulator.api_key not in out


def test_no_key_means_no_call(saved, emulator, capsys):
    emulator.reset_log()
    assert main(["plan", "--preview-json", saved("create", **{"alloy:baseUrl": emulator.url})], environ={}) == 0
    assert "Adoption was not predicted (`ALLOY_API_KEY` is not set here)" in capsys.readouterr().out
    assert emulator.request_count() == 0


def test_plan_runs_the_preview_with_show_sames_on_the_given_stack(fake_pulumi, tmp_path, capsys):
    environ = fake_pulumi(json.dumps(document("changes")))
    assert main(["plan", "--stack", "prod", "--cwd", str(tmp_path)], environ=environ) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!-- alloy-users-plan stack=prod -->\n") and "~ rename" in out
    calls = Path(environ["FAKE_LOG"]).read_text(encoding="utf-8").splitlines()
    assert calls == ["preview --json --show-sames --non-interactive --stack prod"]


def test_a_preview_without_json_still_gets_a_comment(fake_pulumi, tmp_path, capsys):
    environ = fake_pulumi("", status=255)
    assert main(["plan", "--stack", "prod", "--cwd", str(tmp_path)], environ=environ) == 1
    out = capsys.readouterr().out
    assert out.startswith("<!-- alloy-users-plan stack=prod -->\n")  # the same comment gets updated
    assert "> **The preview failed: this plan cannot be applied.**" in out
    assert "exited with status 255 without a JSON document:\nerror: something broke" in out
    assert main(["guard", "--cwd", str(tmp_path)], environ=environ) == 1


def test_a_failed_preview_with_json_keeps_its_diagnostics(fake_pulumi, tmp_path, capsys):
    environ = fake_pulumi(json.dumps(document("invalid")), status=1)
    assert main(["guard", "--cwd", str(tmp_path)], environ=environ) == 1
    assert "users[0].username: must not be empty" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("max_deletes", "status"),
    [pytest.param("10", 0, id="configured-10"), pytest.param("", 3, id="unset-automatic")],
)
def test_a_document_without_config_asks_pulumi_config_get(fake_pulumi, tmp_path, max_deletes, status):
    doc = document("truncated")
    del doc["config"]
    environ = fake_pulumi(json.dumps(doc), max_deletes=max_deletes)
    assert main(["guard", "--cwd", str(tmp_path)], environ=environ) == status
    calls = Path(environ["FAKE_LOG"]).read_text(encoding="utf-8").splitlines()
    assert calls[-1] == "config get alloy:maxDeletes --non-interactive"


def test_missing_pulumi_is_a_clear_failure(tmp_path, capsys):
    assert main(["guard", "--cwd", str(tmp_path)], environ={"PATH": str(tmp_path)}) == 1
    assert "`pulumi` is not on PATH" in capsys.readouterr().err
