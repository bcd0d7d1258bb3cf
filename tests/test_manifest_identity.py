"""Look-alike usernames: ``username_key`` (the identity contract), the
characters a username may not hold, duplicates by key, and the rules on
previous usernames that follow from it."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.manifest import ManifestError, parse_manifest
from providers.manifest.identity import USERNAME_KEY_VERSION, invisible_character, same_spelling, username_key

HEAD = "version: 1\nusers:\n"
BIDI = "a bidirectional control character, which can make text display in a misleading order"


def problems_of(text: str) -> list[str]:
    with pytest.raises(ManifestError) as raised:
        parse_manifest(text)
    return str(raised.value).splitlines()


def one_user(username_yaml: str) -> str:
    return HEAD + f"  - username: {username_yaml}\n"


# -- username_key: a compatibility contract -----------------------------------------

# Resource identities in existing stacks are these strings: a change to any
# row is a change of identity for every user whose name it covers.
KEYS = [
    pytest.param("ada@example.com", "ada@example.com", id="ascii"),
    pytest.param("Ada@Example.COM", "ada@example.com", id="letter-case"),
    pytest.param("caf\u00e9", "caf\u00e9", id="precomposed"),
    pytest.param("cafe\u0301", "caf\u00e9", id="decomposed"),
    pytest.param("CAFE\u0301", "caf\u00e9", id="decomposed-upper"),
    pytest.param("\uff41da", "ada", id="fullwidth"),
    pytest.param("\uff21\uff24\uff21", "ada", id="fullwidth-upper"),
    pytest.param("\ufb01le", "file", id="ligature"),
    pytest.param("stra\u00dfe", "strasse", id="sharp-s"),
    pytest.param("STRASSE", "strasse", id="sharp-s-upper"),
    pytest.param("\u2460", "1", id="circled-digit"),
    pytest.param("ada\u00a0l", "ada l", id="no-break-space"),
    pytest.param("\u212b", "\u00e5", id="angstrom-sign"),
    pytest.param("\u0130stanbul", "i\u0307stanbul", id="dotted-capital-i"),
    pytest.param("\u03a3\u03bf\u03c6\u03af\u03b1", "\u03c3\u03bf\u03c6\u03af\u03b1", id="greek-sigma"),
    pytest.param("\u7528\u6237_1", "\u7528\u6237_1", id="cjk"),
]


@pytest.mark.parametrize(("name", "key"), KEYS)
def test_username_key_is_nfkc_casefold(name: str, key: str) -> None:
    assert username_key(name) == key
    assert USERNAME_KEY_VERSION == 1


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
def test_username_key_is_idempotent_and_ignores_normal_form(name: str) -> None:
    key = username_key(name)
    assert username_key(key) == key
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert username_key(unicodedata.normalize(form, name)) == key


def test_same_spelling_shows_what_differs() -> None:
    assert same_spelling("caf\u00e9") == "'caf\\u00e9'"
    assert same_spelling("cafe\u0301") == "'cafe\\u0301'"
    assert same_spelling("a'b\\c\U0001d400") == "'a\\'b\\\\c\\U0001d400'"


# -- characters a username may not hold ---------------------------------------------

REFUSED = [
    pytest.param('"ada\\u200b@example.com"', "U+200B ZERO WIDTH SPACE, an invisible character", id="zero-width-space"),
    pytest.param("ada\u200b@example.com", "U+200B ZERO WIDTH SPACE, an invisible character", id="zero-width-space-raw"),
    pytest.param('"ada\\u2060"', "U+2060 WORD JOINER, an invisible character", id="word-joiner"),
    pytest.param('"ad\\ufeffa"', "U+FEFF ZERO WIDTH NO-BREAK SPACE, an invisible character", id="byte-order-mark"),
    pytest.param('"ada\\u200d"', "U+200D ZERO WIDTH JOINER, an invisible character", id="zero-width-joiner"),
    pytest.param('"ad\\u00ada"', "U+00AD SOFT HYPHEN, an invisible character", id="soft-hyphen"),
    pytest.param('"ada\\U000e0041"', "U+E0041 TAG LATIN CAPITAL LETTER A, an invisible character", id="tag-character"),
    pytest.param('"ada\\u3164"', "U+3164 HANGUL FILLER, an invisible character", id="hangul-filler"),
    pytest.param('"ada\\ufe0f"', "U+FE0F VARIATION SELECTOR-16, an invisible character", id="variation-selector"),
    pytest.param('"admin\\u202egnp.exe"', f"U+202E RIGHT-TO-LEFT OVERRIDE, {BIDI}", id="right-to-left-override"),
    pytest.param('"ada\\u2067x"', f"U+2067 RIGHT-TO-LEFT ISOLATE, {BIDI}", id="right-to-left-isolate"),
    pytest.param('"ada\\u200f"', "U+200F RIGHT-TO-LEFT MARK, an invisible character", id="right-to-left-mark"),
    pytest.param('"ada\\Lx"', "U+2028 LINE SEPARATOR, a line break", id="line-separator"),
    pytest.param(
        '"ada\\ue000"', "U+E000 <private use>, a private-use character, which has no agreed appearance", id="private-use"
    ),
    pytest.param(
        '"ada\\u0378"',
        f"U+0378 <unassigned>, a code point that Unicode {unicodedata.unidata_version} does not assign",
        id="unassigned",
    ),
]


@pytest.mark.parametrize(("username", "reason"), REFUSED)
def test_invisible_characters_in_a_username_are_refused(username: str, reason: str) -> None:
    assert problems_of(one_user(username)) == [f"users.yaml:3:15: users[0].username: contains {reason}"]


def test_only_the_first_refused_character_is_named_once() -> None:
    assert invisible_character("a\u200bb\u202ec") == "contains U+200B ZERO WIDTH SPACE, an invisible character"
    assert invisible_character("Ada Lovelace") is None
    assert invisible_character("\u7528\u6237 jos\u00e9 \u00d1") is None


def test_a_refused_username_is_not_also_a_duplicate() -> None:
    text = HEAD + '  - username: ada\n  - username: "ada\\u200b"\n'
    assert problems_of(text) == [
        "users.yaml:4:15: users[1].username: contains U+200B ZERO WIDTH SPACE, an invisible character"
    ]


FULL_NAMES = [
    pytest.param('"Ada \\u202eecalevoL"', [f"users.yaml:4:15: users[0].fullName: contains U+202E RIGHT-TO-LEFT OVERRIDE, {BIDI}"], id="override"),
    pytest.param('"Ada\\u2029Lovelace"', ["users.yaml:4:15: users[0].fullName: contains U+2029 PARAGRAPH SEPARATOR, a line break"], id="paragraph-separator"),
    pytest.param('"\\U0001f469\\u200d\\U0001f4bb Ada"', [], id="emoji-zero-width-joiner-accepted"),
    pytest.param('"\\u0645\\u06cc\\u200c\\u0631\\u0648\\u062f"', [], id="persian-zero-width-non-joiner-accepted"),
]  # fmt: skip


@pytest.mark.parametrize(("full_name", "expected"), FULL_NAMES)
def test_full_names_refuse_only_bidi_controls_and_separators(full_name: str, expected: list[str]) -> None:
    text = HEAD + f"  - username: ada\n    fullName: {full_name}\n"
    if expected:
        assert problems_of(text) == expected
    else:
        assert "\\u200d" in full_name or "\\u200c" in full_name
        assert parse_manifest(text).users[0].full_name is not None


# -- usernames equal by key are duplicates ----------------------------------------

UNICODE_DUPLICATE = "only in Unicode form or letter case; usernames must be unique ignoring case and Unicode form (NFKC)"
DUPLICATES = [
    pytest.param(
        '"caf\\u00e9"', '"cafe\\u0301"',
        f"username 'cafe\\u0301' differs from 'caf\\u00e9' on line 3 {UNICODE_DUPLICATE}",
        id="precomposed-and-combining",
    ),
    pytest.param(
        "ada", '"\\uff41da"', f"username '\\uff41da' differs from 'ada' on line 3 {UNICODE_DUPLICATE}", id="fullwidth"
    ),
    pytest.param(
        "ada", '"\\uff21\\uff24\\uff21"',
        f"username '\\uff21\\uff24\\uff21' differs from 'ada' on line 3 {UNICODE_DUPLICATE}",
        id="fullwidth-upper-case",
    ),
    pytest.param(
        "file", '"\\ufb01le"',
        "username '\ufb01le' differs from 'file' on line 3 only in letter case; usernames must be unique ignoring case",
        id="ligature-folds-as-case",
    ),
    pytest.param(
        "Stra\u00dfe", "strasse",
        "username 'strasse' differs from 'Straße' on line 3 only in letter case; usernames must be unique ignoring case",
        id="sharp-s",
    ),
    pytest.param("ada", "ada", "duplicate username 'ada'; first on line 3", id="identical"),
]  # fmt: skip


@pytest.mark.parametrize(("first", "second", "reason"), DUPLICATES)
def test_usernames_equal_by_key_are_duplicates(first: str, second: str, reason: str) -> None:
    text = HEAD + f"  - username: {first}\n  - username: {second}\n"
    assert problems_of(text) == [f"users.yaml:4:15: users[1].username: {reason}"]


# -- previous usernames -------------------------------------------------------------

ACCEPTED_PREVIOUS = [
    pytest.param("ada", "[Ada]", ("Ada",), id="case-variant-of-own"),
    pytest.param('"caf\\u00e9"', '["cafe\\u0301"]', ("cafe\u0301",), id="unicode-variant-of-own"),
    pytest.param("ada", '["\\uff41da"]', ("\uff41da",), id="fullwidth-variant-of-own"),
    pytest.param("ada", '["ada\\u200b"]', ("ada\u200b",), id="invisible-old-name-renamed-away"),
]


@pytest.mark.parametrize(("username", "previous", "expected"), ACCEPTED_PREVIOUS)
def test_a_variant_of_the_own_username_is_a_valid_previous_username(
    username: str, previous: str, expected: tuple[str, ...]
) -> None:
    manifest = parse_manifest(HEAD + f"  - username: {username}\n    previousUsernames: {previous}\n")
    assert manifest.users[0].previous_usernames == expected


BOTH = "a name cannot be both current and previous"
REFUSED_PREVIOUS = [
    pytest.param(
        "  - username: ada\n    previousUsernames: [ada]\n",
        ["users.yaml:4:25: users[0].previousUsernames[0]: 'ada' is this user's own username; list only former usernames"],
        id="identical-to-own",
    ),
    pytest.param(
        "  - username: ada\n    previousUsernames: [grace]\n  - username: grace\n",
        [f"users.yaml:4:25: users[0].previousUsernames[0]: 'grace' is the username of the entry on line 5; {BOTH}"],
        id="another-username",
    ),
    pytest.param(
        "  - username: ada\n    previousUsernames: [Grace]\n  - username: grace\n",
        [
            "users.yaml:4:25: users[0].previousUsernames[0]: 'Grace' is the username 'grace' of the entry on line 5, "
            f"ignoring letter case; {BOTH}"
        ],
        id="another-username-other-case",
    ),
    pytest.param(
        '  - username: ada\n    previousUsernames: ["\\uff47race"]\n  - username: grace\n',
        [
            "users.yaml:4:25: users[0].previousUsernames[0]: '\\uff47race' is the username 'grace' of the entry on "
            f"line 5, ignoring Unicode form or letter case; {BOTH}"
        ],
        id="another-username-fullwidth",
    ),
    pytest.param(
        '  - username: "caf\\u00e9"\n  - username: bob\n    previousUsernames: ["CAFE\\u0301"]\n',
        [
            "users.yaml:5:25: users[1].previousUsernames[0]: 'CAFE\\u0301' is the username 'caf\\u00e9' of the entry "
            f"on line 3, ignoring Unicode form or letter case; {BOTH}"
        ],
        id="another-username-combining",
    ),
    pytest.param(
        "  - username: ada\n    previousUsernames: [old]\n  - username: grace\n    previousUsernames: [old]\n",
        [
            "users.yaml:6:25: users[1].previousUsernames[0]: 'old' is already a previous username on line 4; "
            "two users cannot share one"
        ],
        id="claimed-twice",
    ),
    pytest.param(
        '  - username: ada\n    previousUsernames: [old]\n  - username: grace\n    previousUsernames: ["\\uff4fld"]\n',
        [
            "users.yaml:6:25: users[1].previousUsernames[0]: '\\uff4fld' is the previous username 'old' on line 4, "
            "ignoring Unicode form or letter case; two users cannot share one"
        ],
        id="claimed-twice-fullwidth",
    ),
    pytest.param(
        '  - username: ada\n    previousUsernames: ["caf\\u00e9", "cafe\\u0301"]\n',
        [
            "users.yaml:4:38: users[0].previousUsernames[1]: 'cafe\\u0301' differs from 'caf\\u00e9' on line 4 "
            "only in Unicode form or letter case"
        ],
        id="repeated-in-one-entry-other-form",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("users", "expected"), REFUSED_PREVIOUS)
def test_previous_username_rules(users: str, expected: list[str]) -> None:
    assert problems_of(HEAD + users) == expected
