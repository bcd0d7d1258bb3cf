"""``fmt``'s fast path (libyaml's events, one compose reused for layout,
round-trip data and the read-back check) changes nothing but speed: every
text formats to the same bytes, or fails the same way, as through ruamel's
pure parser alone, which is how ``fmt`` worked before it.

The pure path is reached as ``test_manifest_fast_path`` reaches it: with
``yaml_reader._libyaml`` set to None, ``compose_fast`` declines and every
step reads the text with ruamel's pure parser (``parse_manifest`` for the
check, the round-trip loader for the data)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.manifest import fmt, yaml_reader
from providers.manifest.fmt import MODELINE, format_manifest
from tests.test_manifest import BAD, VALID, mutated_manifest
from tests.test_manifest_fast_path import EDGES
from tests.test_manifest_fmt import EXAMPLES, written_manifest

pytestmark = pytest.mark.skipif(not yaml_reader.FAST_PARSER_AVAILABLE, reason="PyYAML's libyaml binding is missing")


def outcome(text: str, modeline: str | None) -> str | tuple[str, str]:
    try:
        return format_manifest(text, modeline=modeline)
    except Exception as error:  # noqa: BLE001 - the failure is part of the outcome
        return (type(error).__name__, str(error))


def assert_fast_and_pure_agree(text: str) -> None:
    for modeline in (MODELINE, None):
        fast = outcome(text, modeline)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(yaml_reader, "_libyaml", None)
            pure = outcome(text, modeline)
            again = outcome(fast, modeline) if isinstance(fast, str) else None
        assert fast == pure
        if isinstance(fast, str):
            assert outcome(fast, modeline) == again == fast  # idempotent both ways


MORE = [
    pytest.param(
        "# head\n\n# yaml-language-server: $schema=x\nusers: # a\n  # b\n"
        "  - &u1 {username: b, protect: &t true} # c\n  - username: a # d\n    protect: *t\n    # e\n"
        "    previousUsernames: # f\n      - x # g\n      # h\n      - 'y' # i\n# j\nversion: 1 # k\n\n# tail\n",
        id="comments-everywhere",
    ),
    pytest.param(
        "users:\n  - username: b\n    fullName: |\n      Bee # not a comment\n"
        "  - username: a\n    fullName: >- # folded\n      A\n      Z\n",
        id="block-scalars",
    ),
    pytest.param("users:\n  - username: &n !!str a\n  - username: c\n    previousUsernames: [*n]\n", id="tagged-anchor"),
    pytest.param("!!map\nusers: !!seq\n  - !!map {username: !!str ada, protect: !!bool true}\n", id="explicit-tags"),
    pytest.param(
        "users:\n  - username: \"émile\" # ünïcödé\n    fullName: 'Zoë 🍕'\n  - username: 日本\n    fullName: \"x\\ty\"\n",
        id="unicode",
    ),
    pytest.param("allowEmpty: false\nusers:\n  - username: x\n    fullName: \"  spaced  \"\n", id="spaced-full-name"),
    pytest.param(
        "users:\n  - &base {username: z, protect: true, retainOnDelete: false}\n"
        "  - <<: *base # merged\n    username: a\n  - <<: [*base]\n    username: m\n",
        id="merge-keys",
    ),
    pytest.param(
        "users:\n- username: b\n  previousUsernames:\n  - old-b\n"
        "- username: a\n  previousUsernames: [old-a1, old-a2] # olds\n",
        id="previous-usernames",
    ),
    pytest.param(
        "users:\n  - username: a#b\n    fullName: 'x #y' # real\n  - username: c\n    fullName: \"# not\"\n",
        id="hash-in-values",
    ),
    pytest.param("users:\n  - username: a\n    fullName: multi\n      line plain # after\n", id="multi-line-plain"),
    pytest.param("users:\n  - {username: a,\n     fullName: B, # inner\n     protect: true}\n", id="comment-in-flow"),
    pytest.param("\ufeffusers:\n  - username: u\n", id="byte-order-mark"),
    pytest.param("users:\n  - username: ab\n  - username: *x\n", id="undefined-alias"),
    pytest.param(
        "users:\n  - username: '123'\n  - username: \"1e3\"\n  - username: '2001-01-01'\n  - username: '~'\n"
        "  - username: 'null'\n  - username: '0o17'\n  - username: '.inf'\n",
        id="strings-that-look-like-other-types",
    ),
    pytest.param("version: 0x1\nusers:\n  - username: a\n", id="hex-version"),
    pytest.param("users:\n  - username: a\n---\nusers: []\n", id="second-document"),
    pytest.param("users:\n  - username: a\n\n\n\n# end\n\n", id="trailing-blank-lines"),
    pytest.param("users:\n  - username: a\n    deleteAdopted: true\n", id="delete-adopted"),
]


def texts_of(params: list) -> list:  # type: ignore[type-arg]
    return [pytest.param(param.values[0], id=param.id) for param in params]


@pytest.mark.parametrize("text", texts_of(EXAMPLES) + texts_of(VALID) + texts_of(BAD) + EDGES + MORE)
def test_fast_and_pure_format_alike(text: str) -> None:
    assert_fast_and_pure_agree(text)


# Outputs of fmt as it was before the fast path (ruamel's pure parser alone),
# pinned byte for byte.
PINNED = [
    pytest.param(MORE[0].values[0], '# yaml-language-server: $schema=x\n# head\n# j\nversion: 1 # k\nusers: # a\n  - username: a # d\n    # e\n    previousUsernames: # f\n      - x # g\n      # h\n      - y # i\n    protect: &t true\n  # b\n  - username: b # c\n    protect: *t\n\n# tail\n', id='comments-everywhere'),
    pytest.param(MORE[1].values[0], '# yaml-language-server: $schema=./users.schema.json\nusers:\n  - username: a\n    fullName: A Z # folded\n  - username: b\n    fullName: "Bee # not a comment\\n"\n', id='block-scalars'),
    pytest.param(MORE[3].values[0], '# yaml-language-server: $schema=./users.schema.json\nusers:\n  - username: ada\n    protect: true\n', id='explicit-tags'),
    pytest.param(MORE[6].values[0], '# yaml-language-server: $schema=./users.schema.json\nusers:\n  - <<: &base # merged\n      username: z\n      protect: true\n      retainOnDelete: false\n    username: a\n  - <<:\n      - *base\n    username: m\n  - *base\n', id='merge-keys'),
    pytest.param(MORE[7].values[0], '# yaml-language-server: $schema=./users.schema.json\nusers:\n  - username: a\n    previousUsernames: # olds\n      - old-a1\n      - old-a2\n  - username: b\n    previousUsernames:\n      - old-b\n', id='previous-usernames'),
    pytest.param(MORE[10].values[0], '# yaml-language-server: $schema=./users.schema.json\nusers:\n  - username: a\n    fullName: B # inner\n    protect: true\n', id='comment-in-flow'),
]


@pytest.mark.parametrize(("text", "formatted"), PINNED)
def test_fmt_output_is_what_it_was(text: str, formatted: str) -> None:
    assert format_manifest(text) == formatted


COMMENT = st.from_regex(r"#[ -~]{0,12}", fullmatch=True)
NAME = st.from_regex(r"[a-zA-Zé日][a-z0-9_.@é]{0,8}", fullmatch=True).filter(lambda name: name.lower() not in ("true", "false", "null", "yes", "no", "on", "off"))
FULL = st.sampled_from(["Ada Lovelace", "  Ken  ", "Zoë 🍕", "x: y", "a #b", "O'Hara", "'q'", "1e3", "- dash"])


def scalar(draw: st.DrawFn, value: str) -> str:
    style = draw(st.sampled_from(["plain", "single", "double", "literal", "folded", "tagged"]))
    risky = any(mark in value for mark in (": ", " #", "'", "\"")) or value != value.strip() or value[:1] in "-'\"&*!|>%@`{[" or value == "1e3"
    if style == "plain" and not risky:
        return value
    if style == "single" or (style == "plain" and risky):
        return "'" + value.replace("'", "''") + "'"
    if style == "tagged":
        return "!!str '" + value.replace("'", "''") + "'"
    if style in ("literal", "folded") and value == value.strip():
        return ("|-" if style == "literal" else ">-") + draw(st.sampled_from(["", " " + draw(COMMENT)])) + "\n{indent}" + value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def shared_manifest(draw: st.DrawFn) -> str:
    """A valid manifest with what ``written_manifest`` leaves out: anchors and
    aliases, merge keys, block scalars, tags, unicode, and comments on any
    line."""
    names = draw(st.lists(NAME, min_size=1, max_size=5, unique_by=str.casefold))
    eol = lambda: draw(st.sampled_from(["", "", " " + draw(COMMENT)]))  # noqa: E731
    out = "users:" + eol() + "\n"
    anchored_flags: list[str] = []
    base = None
    for number, name in enumerate(names):
        out += draw(st.sampled_from(["", "", f"  {draw(COMMENT)}\n", "\n", f"\n{draw(COMMENT)}\n"]))
        lines = [f"username: {scalar(draw, name)}"]
        if draw(st.booleans()):
            lines.append(f"fullName: {scalar(draw, draw(FULL))}")
        if draw(st.booleans()):
            if anchored_flags and draw(st.booleans()):
                lines.append(f"protect: *{draw(st.sampled_from(anchored_flags))}")
            else:
                anchor = f"f{number}"
                anchored_flags.append(anchor)
                lines.append(f"protect: &{anchor} {draw(st.sampled_from(['true', 'false']))}")
        if draw(st.booleans()):
            olds = [f"old{number}x{index}" for index in range(draw(st.integers(1, 2)))]
            if draw(st.booleans()):
                lines.append("previousUsernames: [" + ", ".join(olds) + "]")
            else:
                lines.append("previousUsernames:" + "".join(f"\n{{indent}}  - {old}{eol()}" for old in olds))
        anchor_entry = ""
        if base is not None and draw(st.booleans()):
            lines.append(f"<<: *{base}")  # the merged entry's own keys win
        elif base is None and draw(st.booleans()):
            base = f"b{number}"
            anchor_entry = f"&{base}\n    "
        lines = draw(st.permutations(lines))
        indent = "    "
        body = "".join(
            (f"{indent}{draw(COMMENT)}\n" if index and draw(st.integers(0, 5)) == 0 else "")
            + ("  - " + anchor_entry if index == 0 else indent)
            + line.replace("{indent}", indent + "  ")
            + eol()
            + "\n"
            for index, line in enumerate(lines)
        )
        out += body
    top = [out]
    if draw(st.booleans()):
        top.append("version: 1" + eol() + "\n")
    if draw(st.booleans()):
        top.append(f"allowEmpty: {draw(st.sampled_from(['true', 'false']))}" + eol() + "\n")
    header = draw(st.sampled_from(["", f"{draw(COMMENT)}\n", f"{draw(COMMENT)}\n\n", f"{MODELINE}\n"]))
    trailer = draw(st.sampled_from(["", f"{draw(COMMENT)}\n", f"\n{draw(COMMENT)}\n"]))
    return header + "".join(draw(st.permutations(top))) + trailer


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.one_of(shared_manifest(), written_manifest(), mutated_manifest()))
def test_fast_and_pure_format_any_manifest_alike(text: str) -> None:
    assert_fast_and_pure_agree(text)


def test_a_clean_manifest_is_parsed_once_and_never_round_tripped_by_ruamel(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "version: 1\nusers:\n" + "".join(f"  - username: user{i:03d}\n    fullName: User {i} # n\n" for i in range(200))
    calls: list[str] = []
    real_parse = fmt.parse_manifest
    monkeypatch.setattr(fmt, "parse_manifest", lambda *a, **k: calls.append("parse") or real_parse(*a, **k))
    monkeypatch.setattr(fmt.YAML, "load", lambda *a, **k: pytest.fail("the round-trip loader read the text again"))
    formatted = format_manifest(text)
    assert calls == ["parse"]
    assert format_manifest(formatted) == formatted
