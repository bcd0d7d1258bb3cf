"""``fmt``: one canonical form, comments kept, meaning kept, idempotent; and
the ``fmt`` / ``fmt --check`` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.manifest import Manifest, ManifestError, parse_manifest
from providers.manifest.fmt import MODELINE, format_manifest, schema_modeline
from tests.support.cli import run_manifest_cli as run_cli

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "users.yaml"

MESSY = """\
# Who may use the Alloy account.
users:   # reviewed by the platform team
  # Grace first, for history
  - fullName: "Grace Hopper"
    username: grace@example.com   # the admiral
    protect: true
  - {username: ada@example.com, fullName: Ada Lovelace, previousUsernames: [ada, "a.lovelace"]}

  # contractors
  - retainOnDelete: true
    username: Ken@example.com
    fullName: |-
      Ken Thompson
# the format version
version: 1
"""

MESSY_FORMATTED = f"""\
{MODELINE}
# Who may use the Alloy account.
# the format version
version: 1
users: # reviewed by the platform team
  - username: ada@example.com
    fullName: Ada Lovelace
    previousUsernames:
      - ada
      - a.lovelace
  # Grace first, for history
  - username: grace@example.com # the admiral
    fullName: Grace Hopper
    protect: true

  # contractors
  - username: Ken@example.com
    fullName: Ken Thompson
    retainOnDelete: true
"""


def comments_of(text: str) -> list[str]:
    """The comments of ``text`` (good enough for these examples: no "#" in values)."""
    return sorted(line[line.index("#") :].rstrip() for line in text.splitlines() if "#" in line)


def expected_comments(text: str) -> list[str]:
    """The comments that the canonical form of ``text`` holds."""
    return sorted(comments_of(text) + ([] if MODELINE in text else [MODELINE]))


def meaning(manifest: Manifest) -> tuple[object, ...]:
    """What a manifest says, whatever its order, style and line numbers."""
    users = sorted(
        (u.username, u.full_name, u.protect, u.retain_on_delete, u.previous_usernames) for u in manifest.users
    )
    return (manifest.version, manifest.allow_empty, users)


def test_messy_manifest_gets_the_canonical_form() -> None:
    assert format_manifest(MESSY) == MESSY_FORMATTED


def test_sample_manifest_is_already_canonical() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    assert format_manifest(text) == text


EXAMPLES = [
    pytest.param(MESSY, id="messy"),
    pytest.param(SAMPLE.read_text(encoding="utf-8"), id="sample"),
    pytest.param("users:\n- username: b\n- username: a\n", id="unindented-dashes"),
    pytest.param("allowEmpty: true\nusers: []  # nobody yet\nversion: 1\n", id="allow-empty"),
    pytest.param(
        "users:\n  - username: z\n    protect: &on true\n"
        "  - username: a\n    protect: *on\n    retainOnDelete: *on\n",
        id="alias-after-sorting",
    ),
    pytest.param("users:\n  - &base {username: z, protect: true}\n  - <<: *base\n    username: a\n", id="merge-key"),
    pytest.param("users:\n  - username: !!str 123\n  - username: 'true'\n  - username: \"null\"\n", id="quoting"),
    pytest.param('{"users": [{"username": "b"}, {"username": "a", "fullName": "A"}]}', id="json"),
    pytest.param("users:\r\n  - username: b  # crlf\r\n  - username: a\r\n", id="crlf"),
]


@pytest.mark.parametrize("text", EXAMPLES)
def test_fmt_is_idempotent_and_keeps_meaning_and_comments(text: str) -> None:
    once = format_manifest(text)
    assert format_manifest(once) == once
    assert once.startswith(MODELINE + "\n")
    assert once.endswith("\n") and not once.endswith("\n\n")
    assert comments_of(once) == expected_comments(text)
    assert meaning(parse_manifest(once)) == meaning(parse_manifest(text))


def test_fmt_sorts_users_ignoring_case() -> None:
    names = ["bob", "Carol", "alice2", "Émile", "'007'", "Alice"]
    formatted = format_manifest("users:\n" + "".join(f"  - username: {name}\n" for name in names))
    usernames = [u.username for u in parse_manifest(formatted).users]
    assert usernames == ["007", "Alice", "alice2", "bob", "Carol", "Émile"]


def test_fmt_orders_keys() -> None:
    text = (
        "users:\n  - retainOnDelete: false\n    protect: false\n    previousUsernames: [x]\n"
        "    fullName: X\n    username: x2\nallowEmpty: false\nversion: 1\n"
    )
    assert format_manifest(text) == (
        f"{MODELINE}\nversion: 1\nallowEmpty: false\nusers:\n  - username: x2\n    fullName: X\n"
        "    previousUsernames:\n      - x\n    protect: false\n    retainOnDelete: false\n"
    )


def test_fmt_keeps_an_existing_schema_line_and_moves_it_first() -> None:
    text = "# users of prod\n# yaml-language-server: $schema=../users.schema.json\nusers:\n  - username: a\n"
    assert format_manifest(text) == (
        "# yaml-language-server: $schema=../users.schema.json\n# users of prod\nusers:\n  - username: a\n"
    )


def test_fmt_adds_no_modeline_when_told_none() -> None:
    assert format_manifest(MESSY, modeline=None) == MESSY_FORMATTED.removeprefix(MODELINE + "\n")
    kept = "# yaml-language-server: $schema=https://example.com/users.schema.json\nusers:\n  - username: a\n"
    assert format_manifest(kept, modeline=None) == kept


def test_the_modeline_is_added_only_where_the_schema_it_names_is(tmp_path: Path) -> None:
    assert schema_modeline(SAMPLE) == MODELINE  # users.schema.json beside users.yaml
    assert schema_modeline(tmp_path / "users.yaml") is None
    (tmp_path / "users.schema.json").write_text("{}", encoding="utf-8")
    assert schema_modeline(tmp_path / "users.yaml") == MODELINE


def test_fmt_refuses_an_invalid_manifest() -> None:
    with pytest.raises(ManifestError, match=r"users.yaml:2:5: users\[0\].username: is required"):
        format_manifest("users:\n  - fullName: Nobody\n")


def test_fmt_never_runs_a_tag(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    with pytest.raises(ManifestError, match="is not allowed"):
        format_manifest(f"users:\n  - username: !!python/object/apply:os.system ['touch {marker}']\n")
    assert not marker.exists()


# -- property: any valid manifest, however written ---------------------------------

YAML_WORDS = {"true", "false", "null"}  # plain, these would not be strings
NAMES = st.from_regex(r"[a-z][a-z0-9_@]{0,10}", fullmatch=True).filter(lambda name: name not in YAML_WORDS)
FULL_NAMES = st.from_regex(r"[A-Z][a-z]{0,8}( [A-Z][a-z'\-]{0,8}){0,2}", fullmatch=True).filter(
    lambda name: name.lower() not in YAML_WORDS
)
COMMENTS = st.from_regex(r"#[ -~]{0,16}", fullmatch=True)


def quoted(draw: st.DrawFn, value: str) -> str:
    style = draw(st.sampled_from(["plain", "single", "double"]))
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return '"' + value + '"'
    return value


@st.composite
def written_manifest(draw: st.DrawFn) -> str:
    """A valid manifest written in a random style: key order, flow or block,
    quoting, indentation and comments all vary."""
    names = draw(st.lists(NAMES, min_size=1, max_size=5, unique_by=str.casefold))
    dash = draw(st.sampled_from(["- ", "  - "]))
    indent = " " * len(dash)
    body = ""
    for number, name in enumerate(names):
        fields = {"username": quoted(draw, name)}
        if draw(st.booleans()):
            fields["fullName"] = quoted(draw, draw(FULL_NAMES))
        if draw(st.booleans()):
            olds = [quoted(draw, f"old.{number}.{index}") for index in range(draw(st.integers(1, 2)))]
            fields["previousUsernames"] = "[" + ", ".join(olds) + "]"
        for guard in ("protect", "retainOnDelete"):
            if draw(st.booleans()):
                fields[guard] = draw(st.sampled_from(["true", "false", "True"]))
        pairs = [f"{key}: {fields[key]}" for key in draw(st.permutations(list(fields)))]
        body += draw(st.sampled_from(["", f"  {draw(COMMENTS)}\n", "\n"]))
        if draw(st.booleans()):
            body += dash + "{" + ", ".join(pairs) + "}\n"
        else:
            ends = [draw(st.sampled_from(["", "  " + draw(COMMENTS)])) for _ in pairs]
            body += dash + f"\n{indent}".join(pair + end for pair, end in zip(pairs, ends)) + "\n"
    top = {"users": "users:\n" + body}
    if draw(st.booleans()):
        top["version"] = "version: 1\n"
    if draw(st.booleans()):
        top["allowEmpty"] = f"allowEmpty: {draw(st.sampled_from(['true', 'false']))}\n"
    header = draw(st.sampled_from(["", f"{draw(COMMENTS)}\n", f"{draw(COMMENTS)}\n\n"]))
    return header + "".join(top[key] for key in draw(st.permutations(list(top))))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(written_manifest())
def test_fmt_of_any_valid_manifest_is_canonical_and_faithful(text: str) -> None:
    once = format_manifest(text)
    assert format_manifest(once) == once
    after = parse_manifest(once)
    assert meaning(after) == meaning(parse_manifest(text))
    assert [u.username for u in after.users] == sorted((u.username for u in after.users), key=str.casefold)
    assert comments_of(once) == expected_comments(text)


# -- python -m providers.manifest fmt ------------------------------------------------


@pytest.mark.parametrize("schema_beside", [True, False], ids=["schema-beside", "no-schema-beside"])
def test_fmt_check_reports_a_file_that_would_change_and_writes_nothing(tmp_path: Path, schema_beside: bool) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(MESSY, encoding="utf-8")
    if schema_beside:
        (tmp_path / "users.schema.json").symlink_to(REPO_ROOT / "users.schema.json")
    result = run_cli("fmt", "--check", str(path))
    assert result.returncode == 1
    assert result.stdout.startswith(f"would reformat {path}\n--- {path} (current)\n+++ {path} (formatted)\n")
    assert (f"+{MODELINE}\n" in result.stdout) == schema_beside
    assert "-  - {username: ada@example.com" in result.stdout
    assert path.read_text(encoding="utf-8") == MESSY


def test_fmt_check_passes_on_canonical_files() -> None:
    result = run_cli("fmt", "--check")
    assert (result.returncode, result.stdout, result.stderr) == (0, "users.yaml: already formatted\n", "")


@pytest.mark.parametrize("schema_beside", [True, False], ids=["schema-beside", "no-schema-beside"])
def test_fmt_rewrites_the_file(tmp_path: Path, schema_beside: bool) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(MESSY, encoding="utf-8")
    if schema_beside:
        (tmp_path / "users.schema.json").symlink_to(REPO_ROOT / "users.schema.json")
    result = run_cli("fmt", str(path))
    assert (result.returncode, result.stdout, result.stderr) == (0, f"reformatted {path}\n", "")
    expected = MESSY_FORMATTED if schema_beside else MESSY_FORMATTED.removeprefix(MODELINE + "\n")
    assert path.read_text(encoding="utf-8") == expected


def test_fmt_leaves_an_invalid_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    text = "users:\n  - username: b\n  - username: B\n"
    path.write_text(text, encoding="utf-8")
    result = run_cli("fmt", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"{path}:3:15: users[1].username: username 'B' differs from 'b' on line 2 only in letter case; "
        "usernames must be unique ignoring case\n"
    )
    assert path.read_text(encoding="utf-8") == text
