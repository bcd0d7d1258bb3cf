"""The manifest reader: every rule with its exact message, valid manifests,
file-level failures, safety against hostile YAML, and the ``check`` command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.manifest import (
    MAX_MANIFEST_BYTES,
    DesiredUser,
    Manifest,
    ManifestError,
    load_manifest,
    parse_manifest,
)
from providers.manifest.problems import MAX_SHOWN_PROBLEMS
from tests.support.cli import run_manifest_cli as run_cli

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "users.yaml"
PROBLEM_LINE = re.compile(r"^[^:]+:\d+:\d+: \S.*")
HEAD = "version: 1\nusers:\n"
EMPTY_USERS = (
    "is empty, which would delete every user this stack manages; "
    "if that is intended, add 'allowEmpty: true' at the top level"
)
CONTROL = "must not contain control characters (tabs, line breaks and the like)"
UNSET_HINT = "must not be empty; remove the key to leave it unset"


def problems_of(text: str, path: str = "users.yaml") -> list[str]:
    with pytest.raises(ManifestError) as raised:
        parse_manifest(text, path)
    return str(raised.value).splitlines()


# -- one bad manifest per rule, with the exact message --------------------------

BAD = [
    pytest.param(
        HEAD + "  - fullName: Ada Lovelace\n",
        ["users.yaml:3:5: users[0].username: is required"],
        id="missing-username",
    ),
    pytest.param("version: 1\n", ["users.yaml:1:1: users: is required"], id="missing-users"),
    pytest.param(HEAD.replace("users:", "users: []"), [f"users.yaml:2:8: users: {EMPTY_USERS}"], id="empty-users"),
    pytest.param(HEAD, ["users.yaml:2:1: users: must be a list, got an empty value"], id="users-empty-value"),
    pytest.param(
        "users:\n  username: ada\n", ["users.yaml:2:3: users: must be a list, got a mapping"], id="users-not-a-list"
    ),
    pytest.param(
        HEAD + "  - username: ada\n    fullname: Ada Lovelace\n",
        ["users.yaml:4:5: users[0]: unknown key 'fullname' (did you mean 'fullName'?)"],
        id="unknown-key-typo",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    retain_on_delete: true\n",
        ["users.yaml:4:5: users[0]: unknown key 'retain_on_delete' (did you mean 'retainOnDelete'?)"],
        id="unknown-key-snake-case",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    email: ada@example.com\n",
        [
            "users.yaml:4:5: users[0]: unknown key 'email'; "
            "allowed keys: username, fullName, previousUsernames, protect, retainOnDelete, deleteAdopted"
        ],
        id="unknown-key-no-guess",
    ),
    pytest.param(
        "version: 1\nuser:\n  - username: ada\n",
        ["users.yaml:1:1: users: is required", "users.yaml:2:1: unknown key 'user' (did you mean 'users'?)"],
        id="unknown-top-level-key",
    ),
    pytest.param(
        HEAD + "  - username: 12345\n",
        ["users.yaml:3:15: users[0].username: must be a string, got the number 12345; put it in quotes"],
        id="username-number",
    ),
    pytest.param(
        HEAD + "  - username: true\n",
        ["users.yaml:3:15: users[0].username: must be a string, got the boolean true; put it in quotes"],
        id="username-boolean",
    ),
    pytest.param(
        HEAD + "  - username: 2024-01-31\n",
        ["users.yaml:3:15: users[0].username: must be a string, got the date 2024-01-31; put it in quotes"],
        id="username-date",
    ),
    pytest.param(
        HEAD + "  - username: ''\n", ["users.yaml:3:15: users[0].username: must not be empty"], id="username-empty"
    ),
    pytest.param(
        HEAD + "  - username:\n    fullName: Ada\n",
        ["users.yaml:3:5: users[0].username: must not be empty"],
        id="username-no-value",
    ),
    pytest.param(
        HEAD + "  - username: '   '\n", ["users.yaml:3:15: users[0].username: must not be blank"], id="username-blank"
    ),
    pytest.param(
        HEAD + "  - username: ' ada'\n",
        ["users.yaml:3:15: users[0].username: must not start or end with whitespace"],
        id="username-leading-space",
    ),
    pytest.param(
        HEAD + "  - username: 'ada '\n",
        ["users.yaml:3:15: users[0].username: must not start or end with whitespace"],
        id="username-trailing-space",
    ),
    pytest.param(
        HEAD + '  - username: "ada\\tlovelace"\n',
        [f"users.yaml:3:15: users[0].username: {CONTROL}"],
        id="username-control-character",
    ),
    pytest.param(
        HEAD + "  - username: " + "a" * 256 + "\n",
        ["users.yaml:3:15: users[0].username: must have at most 255 characters, not 256"],
        id="username-too-long",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    fullName: '   '\n",
        [f"users.yaml:4:15: users[0].fullName: {UNSET_HINT}"],
        id="fullname-blank",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    fullName:\n",
        [f"users.yaml:4:5: users[0].fullName: {UNSET_HINT}"],
        id="fullname-no-value",
    ),
    pytest.param(
        HEAD + '  - username: ada\n    fullName: "Ada\\nLovelace"\n',
        [f"users.yaml:4:15: users[0].fullName: {CONTROL}"],
        id="fullname-line-break",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    fullName: " + "A" * 256 + "\n",
        ["users.yaml:4:15: users[0].fullName: must have at most 255 characters, not 256"],
        id="fullname-too-long",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    protect: 'yes'\n",
        ["users.yaml:4:14: users[0].protect: must be true or false, got the string 'yes'"],
        id="protect-string",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    retainOnDelete: yes\n",
        ["users.yaml:4:21: users[0].retainOnDelete: must be true or false, got the string 'yes'"],
        id="retain-yaml11-yes",
    ),
    pytest.param(
        "allowEmpty: 'true'\nusers: []\n",
        [
            "users.yaml:1:13: allowEmpty: must be true or false, got the string 'true'",
            f"users.yaml:2:8: users: {EMPTY_USERS}",
        ],
        id="allow-empty-string",
    ),
    pytest.param(
        "version: 2\nusers:\n  - username: ada\n",
        ["users.yaml:1:10: version: must be 1, got the number 2"],
        id="version-2",
    ),
    pytest.param(
        "version: '1'\nusers:\n  - username: ada\n",
        ["users.yaml:1:10: version: must be an integer, got the string '1'"],
        id="version-string",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    previousUsernames: ada.old\n",
        ["users.yaml:4:24: users[0].previousUsernames: must be a list, got the string 'ada.old'"],
        id="previous-not-a-list",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    previousUsernames: ['']\n",
        ["users.yaml:4:25: users[0].previousUsernames[0]: must not be empty"],
        id="previous-empty-item",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    previousUsernames:\n      - ada.old\n      - ada.old\n",
        ["users.yaml:6:9: users[0].previousUsernames[1]: 'ada.old' is listed twice; first on line 5"],
        id="previous-repeated",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    previousUsernames: [old, OLD]\n",
        ["users.yaml:4:30: users[0].previousUsernames[1]: 'OLD' differs from 'old' on line 4 only in letter case"],
        id="previous-repeated-other-case",
    ),
    pytest.param(
        HEAD + "  - username: ada\n  - username: grace\n  - username: ada\n",
        ["users.yaml:5:15: users[2].username: duplicate username 'ada'; first on line 3"],
        id="duplicate-username",
    ),
    pytest.param(
        HEAD + "  - username: Ada@Example.com\n  - username: ada@example.com\n",
        [
            "users.yaml:4:15: users[1].username: username 'ada@example.com' differs from 'Ada@Example.com' "
            "on line 3 only in letter case; usernames must be unique ignoring case"
        ],
        id="duplicate-username-other-case",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    previousUsernames: [grace]\n  - username: grace\n",
        [
            "users.yaml:4:25: users[0].previousUsernames[0]: 'grace' is the username of the entry on line 5; "
            "a name cannot be both current and previous"
        ],
        id="previous-is-another-username",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    previousUsernames: [ada]\n",
        [
            "users.yaml:4:25: users[0].previousUsernames[0]: 'ada' is this user's own username; "
            "list only former usernames"
        ],
        id="previous-is-own-username",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    previousUsernames: [old]\n  - username: grace\n    previousUsernames: [Old]\n",
        [
            "users.yaml:6:25: users[1].previousUsernames[0]: 'Old' is already a previous username on line 4; "
            "two users cannot share one"
        ],
        id="previous-claimed-twice",
    ),
    pytest.param(
        HEAD + "  - username: ada\n   fullName: Ada\n",
        [
            "users.yaml:4:4: invalid YAML: expected <block end>, but found '<block mapping start>' "
            "(while parsing a block collection that starts on line 3); check the indentation"
        ],
        id="yaml-bad-indentation",
    ),
    pytest.param(
        HEAD + "  - username: ada: lovelace\n",
        [
            "users.yaml:3:18: invalid YAML: mapping values are not allowed here; "
            "check the indentation, or quote a value that contains ': '"
        ],
        id="yaml-colon-in-value",
    ),
    pytest.param(
        HEAD + "  - username: 'ada\n",
        [
            "users.yaml:4:1: invalid YAML: found unexpected end of stream "
            "(while scanning a quoted scalar that starts on line 3)"
        ],
        id="yaml-unclosed-quote",
    ),
    pytest.param(
        HEAD + "\t- username: ada\n",
        [
            "users.yaml:3:1: invalid YAML: found character '\\t' that cannot start any token "
            "(while scanning for the next token); indent with spaces, not tabs"
        ],
        id="yaml-tab-indent",
    ),
    pytest.param(
        HEAD + "  - username: ada\x00\n",
        ["users.yaml:3:18: invalid YAML: character U+0000 is not allowed in YAML text"],
        id="yaml-nul-character",
    ),
    pytest.param(
        HEAD + "  - username: *nobody\n",
        ["users.yaml:3:15: invalid YAML: found undefined alias"],  # the name is the file's text: not quoted
        id="yaml-undefined-alias",
    ),
    pytest.param(
        "- username: ada\n",
        ["users.yaml:1:1: the manifest must be a mapping with a 'users' list, got a list"],
        id="document-is-a-list",
    ),
    pytest.param(
        "just some text\n",
        ["users.yaml:1:1: the manifest must be a mapping with a 'users' list, got a string"],
        id="document-is-a-string",
    ),
    pytest.param("", ["users.yaml:1:1: the manifest is empty; it needs a 'users' list"], id="empty-file"),
    pytest.param(
        "# nothing yet\n", ["users.yaml:1:1: the manifest is empty; it needs a 'users' list"], id="comments-only"
    ),
    pytest.param(
        HEAD + "  - username: ada\n---\n" + HEAD + "  - username: grace\n",
        ["users.yaml:5:1: a second YAML document starts here; the manifest must be a single document"],
        id="two-documents",
    ),
    pytest.param(
        HEAD + "  - !!python/object/apply:os.system ['echo hi']\n",
        ["users.yaml:3:5: users[0]: YAML tag '!!python/object/apply:os.system' is not allowed (only plain values)"],
        id="python-tag",
    ),
    pytest.param(
        HEAD + "  - username: !secret ada\n",
        ["users.yaml:3:15: users[0].username: YAML tag '!secret' is not allowed (only plain values)"],
        id="custom-tag",
    ),
    pytest.param(
        HEAD + "  - username: !!binary YWRh\n",
        ["users.yaml:3:15: users[0].username: YAML tag '!!binary' is not allowed (only plain values)"],
        id="binary-tag",
    ),
    pytest.param(
        "version: !!int one\nusers:\n  - username: ada\n",
        ["users.yaml:1:10: version: cannot read 'one' as !!int"],
        id="malformed-explicit-tag",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    fullName: Ada\n    fullName: Ada L.\n",
        ["users.yaml:5:5: users[0].fullName: duplicate key 'fullName'; first on line 4"],
        id="duplicate-key",
    ),
    pytest.param(
        HEAD + "  - username: ada\nusers:\n  - username: grace\n",
        ["users.yaml:4:1: users: duplicate key 'users'; first on line 2"],
        id="duplicate-top-level-key",
    ),
    pytest.param(
        HEAD + "  - username: ada\n    1: one\n",
        ["users.yaml:4:5: users[0]: key '1' is not a string; put it in quotes"],
        id="non-string-key",
    ),
    pytest.param(
        HEAD + "  - <<: plain\n    username: ada\n",
        ["users.yaml:3:9: users[0]: a merge key '<<' needs a mapping or a list of mappings"],
        id="merge-of-a-scalar",
    ),
    pytest.param(
        "users: &users\n  - *users\n",
        ["users.yaml:2:5: users[0]: this alias refers to a value that contains it; recursive data is not allowed"],
        id="recursive-alias",
    ),
    pytest.param(
        "users: " + "[" * 40 + "]" * 40 + "\n",
        ["users.yaml:1:40: nested more than 32 levels deep"],
        id="deep-nesting",
    ),
    pytest.param(
        HEAD + "  - username: &name ada\n  - username: *name\n",
        ["users.yaml:4:15: users[1].username: duplicate username 'ada'; first on line 3"],
        id="duplicate-through-alias",
    ),
    pytest.param(
        HEAD
        + "  - username: ada\n    fullname: Ada\n  - fullName: Nobody\n  - username: ADA\n    protect: maybe\n",
        [
            "users.yaml:4:5: users[0]: unknown key 'fullname' (did you mean 'fullName'?)",
            "users.yaml:5:5: users[1].username: is required",
            "users.yaml:6:15: users[2].username: username 'ADA' differs from 'ada' on line 3 only in letter case; "
            "usernames must be unique ignoring case",
            "users.yaml:7:14: users[2].protect: must be true or false, got the string 'maybe'",
        ],
        id="several-problems-sorted-by-line",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_manifest_reports_exactly(text: str, expected: list[str]) -> None:
    assert problems_of(text) == expected


def test_problems_carry_their_parts() -> None:
    with pytest.raises(ManifestError) as raised:
        parse_manifest(HEAD + "  - username: ada\n  - fullName: Nobody\n", "config/users.yaml")
    (problem,) = raised.value.problems
    assert (problem.path, problem.line, problem.column, problem.pointer, problem.reason) == (
        "config/users.yaml",
        4,
        5,
        "users[1].username",
        "is required",
    )
    assert str(raised.value) == "config/users.yaml:4:5: users[1].username: is required"


def test_a_long_list_of_problems_is_cut_with_a_count() -> None:
    text = HEAD + "".join("  - fullName: Nobody\n" for _ in range(MAX_SHOWN_PROBLEMS + 5))
    with pytest.raises(ManifestError) as raised:
        parse_manifest(text)
    lines = str(raised.value).splitlines()
    assert len(raised.value.problems) == MAX_SHOWN_PROBLEMS + 5
    assert len(lines) == MAX_SHOWN_PROBLEMS + 1
    assert lines[-1] == f"users.yaml:{MAX_SHOWN_PROBLEMS + 3}:5: and 5 more problems"


# -- valid manifests -----------------------------------------------------------


def user(username: str, line: int, **fields: object) -> DesiredUser:
    defaults: dict[str, object] = {"full_name": None, "protect": False, "retain_on_delete": False}
    defaults["previous_usernames"] = ()
    return DesiredUser(username=username, line=line, **{**defaults, **fields})  # type: ignore[arg-type]


VALID = [
    pytest.param("users:\n  - username: ada\n", [user("ada", 2)], id="minimal"),
    pytest.param(
        HEAD
        + "  - username: ada@example.com\n"
        + "    fullName: '  Ada Lovelace  '\n"
        + "    previousUsernames: [ada.l@example.com, ada]\n"
        + "    protect: true\n"
        + "    retainOnDelete: true\n",
        [
            user(
                "ada@example.com",
                3,
                full_name="Ada Lovelace",
                previous_usernames=("ada.l@example.com", "ada"),
                protect=True,
                retain_on_delete=True,
            )
        ],
        id="with-guards-and-rename",
    ),
    pytest.param(
        HEAD
        + "  - username: ada\n    protect: &guarded true\n"
        + "  - &grace\n    username: grace\n    fullName: Grace Hopper\n"
        + "  - <<: *grace\n    username: grace2\n    protect: *guarded\n",
        [
            user("ada", 3, protect=True),
            user("grace", 5, full_name="Grace Hopper"),
            user("grace2", 8, full_name="Grace Hopper", protect=True),
        ],
        id="anchors-aliases-and-merge",
    ),
    pytest.param(
        HEAD
        + "  - username: josé@example.com\n    fullName: José Ñúñez\n"
        + "  - username: 用户_1\n  - username: '12345'\n",
        [user("josé@example.com", 3, full_name="José Ñúñez"), user("用户_1", 5), user("12345", 6)],
        id="unicode-and-quoted-number",
    ),
    pytest.param("version: 1\nallowEmpty: true\nusers: []\n", [], id="allow-empty"),
    pytest.param('{"version": 1, "users": [{"username": "ada", "protect": false}]}', [user("ada", 1)], id="json"),
    pytest.param("\ufeffusers:\r\n  - username: ada\r\n", [user("ada", 2)], id="bom-and-crlf"),
]


@pytest.mark.parametrize(("text", "users"), VALID)
def test_valid_manifest_parses(text: str, users: list[DesiredUser]) -> None:
    manifest = parse_manifest(text)
    assert manifest.users == tuple(users)
    assert manifest.version == 1
    assert manifest.path == "users.yaml"
    assert manifest.allow_empty == ("allowEmpty: true" in text)


def test_sample_manifest_is_valid() -> None:
    manifest = load_manifest(SAMPLE)
    assert isinstance(manifest, Manifest)
    assert [u.username for u in manifest.users] == [
        "ada@example.com",
        "grace@example.com",
        "ken@example.com",
        "org_456_user_789",
        "user_12345",
    ]
    assert not any(u.protect or u.retain_on_delete or u.previous_usernames for u in manifest.users)
    assert SAMPLE.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=./users.schema.json\n")


# -- the file itself -----------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as raised:
        load_manifest(tmp_path / "users.yaml")
    assert str(raised.value) == f"{tmp_path / 'users.yaml'}:1:1: file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as raised:
        load_manifest(tmp_path)
    assert str(raised.value) == f"{tmp_path}:1:1: is a directory, not a file"


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_bytes(b"users:\n  - username: caf\xe9\n")
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    assert str(raised.value) == f"{path}:2:18: is not UTF-8 text: byte 0xE9 cannot be decoded"


def test_huge_file_gets_the_size_limit_message(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("users:\n" + "#" * MAX_MANIFEST_BYTES, encoding="utf-8")
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    assert str(raised.value) == (
        f"{path}:1:1: the file is too large ({MAX_MANIFEST_BYTES + 7} bytes); the limit is 4194304 bytes (4 MiB)"
    )


def test_size_limit_is_a_parameter_for_files_and_text(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("users:\n  - username: ada\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"the file is too large \(25 bytes\); the limit is 10 bytes$"):
        load_manifest(path, max_bytes=10)
    with pytest.raises(ManifestError, match=r"users.yaml:1:1: the file is too large \(25 bytes\)"):
        parse_manifest("users:\n  - username: ada\n", max_bytes=10)
    assert load_manifest(str(path)).path == str(path)


# -- hostile YAML ---------------------------------------------------------------


def test_python_tags_are_reported_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    command = f"['touch {marker}']"
    text = (
        f"version: !!python/object/apply:os.system {command}\n"
        "users:\n"
        f"  - !!python/object/apply:os.system {command}\n"
        f"  - username: !!python/object/apply:subprocess.call [[touch, '{marker}']]\n"
        "  - !!python/object/new:type [x, [], {}]\n"
    )
    assert problems_of(text) == [
        "users.yaml:1:10: version: YAML tag '!!python/object/apply:os.system' is not allowed (only plain values)",
        "users.yaml:3:5: users[0]: YAML tag '!!python/object/apply:os.system' is not allowed (only plain values)",
        "users.yaml:4:15: users[1].username: YAML tag '!!python/object/apply:subprocess.call' is not allowed "
        "(only plain values)",
        "users.yaml:5:5: users[2]: YAML tag '!!python/object/new:type' is not allowed (only plain values)",
    ]
    assert not marker.exists()


def test_billion_laughs_stops_with_a_clear_message() -> None:
    levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for number, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[number]
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    text = "\n".join(levels) + "\nusers: []\n"
    (line,) = problems_of(text)
    assert re.fullmatch(
        r"users\.yaml:\d+:\d+: \S+: aliases expand to more than 100000 values \(the limit\); "
        r"a manifest needs far fewer",
        line,
    )


# -- never anything but a Manifest or a ManifestError ---------------------------

VALID_TEXT = (
    "# yaml-language-server: $schema=./users.schema.json\n"
    "version: 1\n"
    "users:\n"
    "  - username: ada@example.com  # the first\n"
    "    fullName: Ada Lovelace\n"
    "    previousUsernames: [ada]\n"
    "    protect: &on true\n"
    "  - username: user_12345\n"
    "    retainOnDelete: *on\n"
)
YAML_PIECES = [
    "users", "username", "fullName", "previousUsernames", "protect", "allowEmpty", "version", "true", "1",
    ":", ": ", "- ", "  ", "\n", "\n  - ", "\t", "[", "]", "{", "}", ",", "#", "&a ", "*a", "<<: ", "!!str ",
    "!!python/object/apply:os.system ", "!x ", "'", '"', "|", ">", "---\n", "...\n", "%YAML 1.2\n", "?", "~",
    "\\", "é", "\x00", "\x85", "\ufeff", "\u2028", "\r",
]  # fmt: skip
yaml_like_text = st.lists(st.sampled_from(YAML_PIECES), max_size=40).map("".join)


@st.composite
def mutated_manifest(draw: st.DrawFn) -> str:
    text = VALID_TEXT
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 6))
        piece = draw(st.sampled_from(YAML_PIECES) | st.text(max_size=3))
        text = text[:at] + piece + text[at + cut :]
    return text


def assert_manifest_or_problems(text: str) -> None:
    try:
        manifest = parse_manifest(text)
    except ManifestError as invalid:
        lines = str(invalid).splitlines()
        assert lines
        for line in lines:
            assert PROBLEM_LINE.match(line), line
        assert all(problem.line >= 1 and problem.column >= 1 for problem in invalid.problems)
    else:
        assert isinstance(manifest, Manifest)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(yaml_like_text, st.text(max_size=80)))
def test_random_text_is_a_manifest_or_readable_problems(text: str) -> None:
    assert_manifest_or_problems(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_manifest())
def test_mutated_manifest_is_a_manifest_or_readable_problems(text: str) -> None:
    assert_manifest_or_problems(text)


# -- python -m providers.manifest check ------------------------------------------


def test_check_defaults_to_users_yaml() -> None:
    result = run_cli("check")
    assert (result.returncode, result.stdout, result.stderr) == (0, "users.yaml: 5 users, valid\n", "")


def test_check_reports_every_problem_on_stderr(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("users:\n  - username: ada\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("users:\n  - username: ada\n    fullname: Ada\n  - username: ADA\n", encoding="utf-8")
    result = run_cli("check", str(good), str(bad))
    assert result.returncode == 1
    assert result.stdout == f"{good}: 1 user, valid\n"
    assert result.stderr.splitlines() == [
        f"{bad}:3:5: users[0]: unknown key 'fullname' (did you mean 'fullName'?)",
        f"{bad}:4:15: users[1].username: username 'ADA' differs from 'ada' on line 2 only in letter case; "
        "usernames must be unique ignoring case",
    ]


def test_check_of_a_missing_file_names_it() -> None:
    result = run_cli("check", "no-such-users.yaml")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "no-such-users.yaml:1:1: file not found\n")


@pytest.mark.parametrize(
    "args", [(), ("lint",), ("check", "--bogus")], ids=["no-command", "unknown-command", "bad-flag"]
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert "usage: python -m providers.manifest" in result.stderr
