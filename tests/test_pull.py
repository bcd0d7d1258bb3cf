"""``python -m providers.manifest pull``: the merge (no I/O), the YAML it
writes, and the command against the emulator (no Pulumi)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from providers.alloy.client import AlloyUserRecord
from providers.manifest import ManifestError, parse_manifest
from providers.manifest.__main__ import main
from providers.manifest.fmt import MODELINE, format_manifest
from providers.onboarding.pull import PullError, insert_entries, merge_users, yaml_quoted

ID = "6b0c20a5a36f44de0c0abf{:02x}"


def records(*users: tuple[str | None, str | None]) -> list[AlloyUserRecord]:
    return [AlloyUserRecord(ID.format(index), username, full_name) for index, (username, full_name) in enumerate(users)]


def entries(text: str) -> list[tuple[str, str | None]]:
    return [(user.username, user.full_name) for user in parse_manifest(text).users]


EXISTING = f"""\
{MODELINE}
# Who may use the account.
version: 1
users:
  - username: ada@example.com # the first programmer
    fullName: Ada Lovelace
  # the admiral
  - username: grace@example.com
    fullName: Grace Hopper
    previousUsernames:
      - grace.h@example.com
    protect: true
# end of the list
"""


# -- the merge ------------------------------------------------------------------


def test_a_new_manifest_holds_every_user_in_canonical_form():
    pulled = merge_users(records(("zed@example.com", "Zed"), ("Bob@example.com", None), ("ann@example.com", "Ann")), None)
    assert pulled.previous is None and pulled.changed
    assert entries(pulled.text) == [("ann@example.com", "Ann"), ("Bob@example.com", None), ("zed@example.com", "Zed")]
    assert format_manifest(pulled.text) == pulled.text
    assert pulled.text.startswith(MODELINE + "\n")
    assert len(pulled.added) == 3 and pulled.declared == 0 and not pulled.skipped


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        pytest.param(None, "no username", id="no-username"),
        pytest.param("", "no username", id="empty-username"),
        pytest.param("zero\u200bwidth@example.com", "U+200B", id="zero-width-space"),
        pytest.param("tab\there@example.com", "control characters", id="control-character"),
        pytest.param(" padded@example.com", "whitespace", id="surrounding-blank"),
        pytest.param("x" * 300, "at most 255", id="too-long"),
    ],
)
def test_users_a_manifest_cannot_hold_are_reported_and_skipped(username, reason):
    pulled = merge_users(records(("ok@example.com", "Ok"), (username, "Someone")), None)
    assert entries(pulled.text) == [("ok@example.com", "Ok")]
    [skipped] = pulled.skipped
    assert skipped.user_id == ID.format(1) and reason in skipped.reason


def test_usernames_that_differ_only_in_letter_case_keep_the_first():
    pulled = merge_users(records(("ada@example.com", "A"), ("ADA@example.com", "B")), None)
    assert entries(pulled.text) == [("ada@example.com", "A")]
    assert [skip.username for skip in pulled.skipped] == ["ADA@example.com"]


@pytest.mark.parametrize(
    ("full_name", "note"),
    [
        pytest.param(" Padded ", "surrounding blanks", id="surrounding-blanks"),
        pytest.param("bidi\u202eeman", "U+202E", id="bidi-control"),
        pytest.param("line\nbreak", "control characters", id="control-character"),
        pytest.param("n" * 300, "at most 255", id="too-long"),
    ],
)
def test_a_full_name_a_manifest_cannot_hold_is_left_unmanaged(full_name, note):
    pulled = merge_users(records(("ada@example.com", full_name)), None)
    assert entries(pulled.text) == [("ada@example.com", None)]
    assert not pulled.skipped
    [message] = pulled.notes
    assert note in message and "stays as it is in Alloy" in message


def test_an_empty_full_name_is_no_name():
    pulled = merge_users(records(("ada@example.com", ""), ("bob@example.com", "   ")), None)
    assert entries(pulled.text) == [("ada@example.com", None), ("bob@example.com", None)]
    assert not pulled.notes


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("O'Brien: \"the\" #1 user", id="quotes-colon-hash"),
        pytest.param("- * & ! | > % @ `", id="indicators"),
        pytest.param("yes", id="boolean-word"),
        pytest.param("123", id="number"),
        pytest.param("null", id="null-word"),
        pytest.param("José Ñúñez 李小龍 🙂", id="unicode"),
        pytest.param("back\\slash", id="backslash"),
    ],
)
def test_awkward_values_are_written_so_that_they_read_back_exactly(name):
    pulled = merge_users(records((f"{name}@example.com", name)), None)
    assert entries(pulled.text) == [(f"{name}@example.com", name)]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_yaml_quoted_reads_back_as_the_same_string(value):
    assert YAML(typ="safe", pure=True).load(f"key: {yaml_quoted(value)}\n") == {"key": value}


def test_existing_entries_and_comments_stay_and_new_users_are_sorted_in():
    pulled = merge_users(
        records(("grace@example.com", "G. Hopper"), ("ada@example.com", "Ada"), ("bob@example.com", "Bob"),
                ("zoe@example.com", None)),
        EXISTING,
    )
    assert pulled.text == EXISTING.replace(
        "  # the admiral\n", "  - username: bob@example.com\n    fullName: Bob\n  # the admiral\n"
    ).replace("# end of the list\n", "  - username: zoe@example.com\n# end of the list\n")
    assert pulled.declared == 2 and [user.username for user in pulled.added] == ["bob@example.com", "zoe@example.com"]
    assert format_manifest(pulled.text) == pulled.text


def test_manifest_entries_missing_from_alloy_are_reported_not_removed():
    pulled = merge_users(records(("grace@example.com", None)), EXISTING)
    assert pulled.missing == (("ada@example.com", 5),)
    assert pulled.text == EXISTING and not pulled.changed


def test_a_rename_not_applied_yet_is_neither_added_nor_missing():
    pulled = merge_users(records(("ada@example.com", None), ("grace.h@example.com", "Grace Hopper")), EXISTING)
    assert not pulled.changed and not pulled.missing and pulled.declared == 2


def test_a_letter_case_variant_of_an_entry_is_reported_not_added():
    pulled = merge_users(records(("ada@example.com", None), ("grace@example.com", None), ("Ada@Example.com", None)), EXISTING)
    assert not pulled.changed
    [skipped] = pulled.skipped
    assert skipped.username == "Ada@Example.com" and "letter case" in skipped.reason


def test_nothing_to_add_leaves_the_text_exactly_as_it_was():
    messy = "users:\n  - {username: ada@example.com}\n"
    pulled = merge_users(records(("ada@example.com", "Ada")), messy)
    assert pulled.text == messy and not pulled.changed


def test_a_non_canonical_file_is_formatted_when_users_are_added():
    messy = "users:\n  - {username: zed@example.com}  # keep me\n"
    pulled = merge_users(records(("zed@example.com", None), ("ann@example.com", None)), messy)
    assert pulled.text == f"{MODELINE}\nusers:\n  - username: ann@example.com\n  - username: zed@example.com # keep me\n"


def test_an_allowed_empty_manifest_gets_its_first_users():
    pulled = merge_users(records(("ada@example.com", None)), "allowEmpty: true\nusers: []  # none yet\n")
    assert entries(pulled.text) == [("ada@example.com", None)]
    assert "# none yet" in pulled.text


def test_an_invalid_existing_manifest_is_refused():
    with pytest.raises(ManifestError):
        merge_users(records(("ada@example.com", None)), "users:\n  - fullName: nobody\n")


@pytest.mark.parametrize(
    "users",
    [pytest.param([], id="no-users"), pytest.param([(None, "Nameless")], id="only-unwritable-users")],
)
def test_nothing_to_write_for_a_new_file_is_an_error(users):
    with pytest.raises(PullError):
        merge_users(records(*users), None)


def test_insert_entries_goes_before_the_comments_that_end_the_file():
    text = "users:\n  - username: a\n# one\n\n# two\n"
    assert insert_entries(text, ["  - username: b\n"]) == "users:\n  - username: a\n  - username: b\n# one\n\n# two\n"


# -- the command (against the emulator, no Pulumi) ------------------------------


@pytest.fixture
def pull(emulator, monkeypatch, tmp_path):
    """``pull(*args) -> exit status`` against the test emulator, key in ALLOY_API_KEY."""
    monkeypatch.setenv("ALLOY_API_KEY", emulator.api_key)

    def run(*args: str) -> int:
        return main(["pull", "--base-url", emulator.url, *args])

    return run


def test_pull_writes_a_manifest_that_check_and_fmt_accept(pull, emulator, tmp_path, capsys):
    emulator.admin.seed_user("ada@example.com", "Ada Lovelace")
    emulator.admin.seed_user("grace@example.com")
    emulator.admin.seed_user(None, "Nameless")
    output = tmp_path / "users.yaml"
    assert pull("--output", str(output)) == 0
    out, err = capsys.readouterr()
    assert f"wrote {output}: 3 users in Alloy: 2 added, 0 already declared, 1 skipped" in out
    assert "it has no username" in err
    assert main(["check", str(output)]) == 0
    assert main(["fmt", "--check", str(output)]) == 0
    assert entries(output.read_text()) == [("ada@example.com", "Ada Lovelace"), ("grace@example.com", None)]
    assert [(r["method"], r["route"]) for r in emulator.requests()] == [("GET", "GET /users")]
    assert [path.name for path in tmp_path.iterdir()] == ["users.yaml"], "a temporary file was left behind"


def test_a_second_pull_changes_nothing(pull, emulator, tmp_path, capsys):
    emulator.admin.seed_user("ada@example.com", "Ada Lovelace")
    output = tmp_path / "users.yaml"
    assert pull("--output", str(output)) == 0
    before = output.stat()
    content = output.read_bytes()
    assert pull("--output", str(output)) == 0
    assert "up to date" in capsys.readouterr().out
    assert output.read_bytes() == content
    assert output.stat().st_mtime_ns == before.st_mtime_ns and output.stat().st_ino == before.st_ino


def test_dry_run_prints_the_diff_and_writes_nothing(pull, emulator, tmp_path, capsys):
    output = tmp_path / "users.yaml"
    output.write_text(EXISTING)
    emulator.admin.seed_user("ada@example.com")
    emulator.admin.seed_user("bob@example.com", "Bob")
    assert pull("--output", str(output), "--dry-run") == 0
    out, err = capsys.readouterr()
    assert "+  - username: bob@example.com\n+    fullName: Bob\n" in out
    assert out.startswith(f"--- {output} (current)\n+++ {output} (pulled)\n")
    assert "grace@example.com' is not in Alloy" in err and "dry run, nothing written" in err
    assert output.read_text() == EXISTING


def test_dry_run_of_a_new_file_diffs_against_nothing(pull, emulator, tmp_path, capsys):
    emulator.admin.seed_user("ada@example.com")
    output = tmp_path / "users.yaml"
    assert pull("--output", str(output), "--dry-run") == 0
    assert capsys.readouterr().out.startswith("--- /dev/null\n")
    assert not output.exists()


def test_the_merged_file_keeps_its_permissions(pull, emulator, tmp_path):
    output = tmp_path / "users.yaml"
    output.write_text(EXISTING)
    output.chmod(0o640)
    emulator.admin.seed_user("bob@example.com")
    assert pull("--output", str(output)) == 0
    assert stat.S_IMODE(output.stat().st_mode) == 0o640
    assert "bob@example.com" in output.read_text()


def test_an_invalid_existing_file_is_left_alone(pull, emulator, tmp_path, capsys):
    output = tmp_path / "users.yaml"
    output.write_text("users:\n  - fullName: nobody\n")
    emulator.admin.seed_user("ada@example.com")
    assert pull("--output", str(output)) == 1
    assert "is not a valid manifest" in capsys.readouterr().err
    assert output.read_text() == "users:\n  - fullName: nobody\n"
    assert emulator.request_count() == 0, "validate before any call"


def test_a_wrong_key_fails_without_writing(emulator, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ALLOY_API_KEY", "not-the-key")
    output = tmp_path / "users.yaml"
    assert main(["pull", "--base-url", emulator.url, "--output", str(output)]) == 1
    err = capsys.readouterr().err
    assert "401" in err and "not-the-key" not in err
    assert not output.exists()


def test_no_key_is_a_problem(emulator, tmp_path, capsys):
    assert main(["pull", "--base-url", emulator.url, "--output", str(tmp_path / "u.yaml")]) == 1
    assert "ALLOY_API_KEY" in capsys.readouterr().err
    assert emulator.request_count() == 0


def test_an_unreachable_api_fails(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ALLOY_API_KEY", "some-key")
    assert main(["pull", "--base-url", "http://127.0.0.1:9", "--output", str(tmp_path / "u.yaml")]) == 1
    assert "unreachable" in capsys.readouterr().err


def test_an_unwritable_place_fails(pull, emulator, tmp_path, capsys):
    output = tmp_path / "no-such-folder" / "users.yaml"
    emulator.admin.seed_user("ada@example.com")
    assert pull("--output", str(output)) == 1
    assert "cannot write" in capsys.readouterr().err


def test_a_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["pull", "--no-such-flag"])
    assert exited.value.code == 2


def test_the_readme_documents_every_flag_and_exit_status():
    import argparse
    import re

    from providers.manifest.cli import _parser
    from providers.onboarding import pull

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Onboarding an existing account", 1)[1].split("\n## ", 1)[0]
    commands = next(a for a in _parser([pull])._actions if isinstance(a, argparse._SubParsersAction))
    flags = [flag for action in commands.choices["pull"]._actions for flag in action.option_strings if flag.startswith("--")]
    assert [flag for flag in flags if flag != "--help" and f"`{flag}" not in section] == []
    assert re.search(r"Exit status of `pull`: 0 .*; 1 .*; 2 a usage error", section, flags=re.S)
