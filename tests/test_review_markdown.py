"""``review.markdown.visible``: two different usernames never render the same
in the plan comment, whatever invisible, separator or combining characters
they hold."""

from __future__ import annotations

import html
import re
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from markdown_it import MarkdownIt

from review.markdown import code, table, visible

GITHUB_LIKE = MarkdownIt("commonmark", {"html": True}).enable("table")

ESCAPE = re.compile(r"\\\\|\\u([0-9a-f]{4})|\\U([0-9a-f]{8})|\\")


def read_back(shown: str) -> str:
    """The inverse of ``visible``: what a careful reader of the comment decodes."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) in ("\\\\", "\\"):
            return "\\"
        return chr(int(match.group(1) or match.group(2), 16))

    return ESCAPE.sub(one, shown)


LOOK_ALIKES = [
    pytest.param("ada\u200b@example.com", "ada@example.com", "ada\\u200b@example.com", id="zero-width-space"),
    pytest.param("ada\u2060", "ada", "ada\\u2060", id="word-joiner"),
    pytest.param("\ufeffada", "ada", "\\ufeffada", id="byte-order-mark"),
    pytest.param("ada\u00a0l", "ada l", "ada\\u00a0l", id="no-break-space"),
    pytest.param("ada\u3000l", "ada l", "ada\\u3000l", id="ideographic-space"),
    pytest.param("admin\u202egnp.exe", "adminexe.png", "admin\\u202egnp.exe", id="right-to-left-override"),
    pytest.param("\u2066ada\u2069", "ada", "\\u2066ada\\u2069", id="isolates"),
    pytest.param("ada\U000e0041", "ada", "ada\\U000e0041", id="tag-character"),
    pytest.param("ada\ue000", "ada", "ada\\ue000", id="private-use"),
    pytest.param("cafe\u0301", "caf\u00e9", "cafe\\u0301", id="combining-accent"),
    pytest.param("ada\\u200b", "ada\u200b", "ada\\\\u200b", id="typed-out-escape"),
    pytest.param("a\\\u200b", "a\\u200b", "a\\\\\\u200b", id="backslash-before-invisible"),
]


@pytest.mark.parametrize(("name", "look_alike", "shown"), LOOK_ALIKES)
def test_look_alike_usernames_render_differently(name: str, look_alike: str, shown: str) -> None:
    assert visible(name) == shown
    assert visible(name) != visible(look_alike)
    rendered = GITHUB_LIKE.render(table(("user",), [(code(name),), (code(look_alike),)]))
    first, second = (html.unescape(cell) for cell in re.findall(r"<td><code>(.*?)</code></td>", rendered))
    assert first == shown
    assert first != second


def test_plain_names_are_shown_as_they_are() -> None:
    for name in ("ada@example.com", "Jos\u00e9 \u00d1\u00fa\u00f1ez", "\u7528\u6237_1", "CORP\\alice", "a b"):
        assert visible(name) == name


def test_every_non_printing_character_is_escaped() -> None:
    for code_point in range(sys.maxunicode + 1):
        character = chr(code_point)
        if unicodedata.category(character)[0] in "CZ" and character != " ":
            assert visible(character).isascii(), hex(code_point)


@given(st.text())
def test_the_rendering_reads_back_to_the_name(name: str) -> None:
    assert read_back(visible(name)) == name


def test_code_spans_of_escapes_stay_literal() -> None:
    assert code("ada\u200b") == "`ada\\u200b`"
    assert code("a\nb\u202e") == "`a\\u000ab\\u202e`"
