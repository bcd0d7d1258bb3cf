"""Which usernames are the same user, and which characters a username may hold.

``username_key(name)`` is the identity of a username: two usernames with the
same key are the same user. It is a **compatibility contract**: the Pulumi
program names each ``AlloyUser`` resource by it, so a change of letter case
or of Unicode form (``Ada`` -> ``ada``, ``cafe`` + U+0301 -> ``café``,
fullwidth ``ａda`` -> ``ada``) is an in-place rename of the same user. The
function must therefore return the same key for the same name in every
release and on every Python: it is ``NFKC(casefold(NFKC(name)))``, and it
never changes (``USERNAME_KEY_VERSION`` names this definition; a different
one would need a new version and a state migration).

Stable across Python versions: the usernames the manifest accepts hold only
assigned code points (``invisible_character`` refuses unassigned ones), and
for those Unicode's stability policies fix both NFKC and
``casefold(NFKC(s))`` in every later Unicode version.

``invisible_character(name)`` finds the first character that would make a
username look like another one, or not look like anything: format
characters (Unicode category Cf: zero-width spaces and joiners, word joiner,
byte order mark, bidirectional controls), the other default-ignorable
characters (variation selectors, Hangul fillers, ...), line and paragraph
separators, private-use, surrogate and unassigned code points. Control
characters (Cc: tabs, line breaks, NUL) are refused by the schema
(``noControlCharacters``) and left to it here.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "USERNAME_KEY_VERSION",
    "display_character",
    "invisible_character",
    "same_spelling",
    "username_key",
]

USERNAME_KEY_VERSION = 1

# Bidirectional embeddings, overrides and isolates: they reorder how the text
# around them is displayed ("Trojan Source"). Refused in full names too.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt) outside
# categories Cf and Cn, which are refused whole: these render as nothing too.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG / JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ / AA
    (0x180B, 0x180D),  # MONGOLIAN FREE VARIATION SELECTORS
    (0x180F, 0x180F),  # MONGOLIAN FREE VARIATION SELECTOR FOUR
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTORS
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xE0100, 0xE01EF),  # VARIATION SELECTORS SUPPLEMENT
)


def username_key(name: str) -> str:
    """The identity of username ``name``: ``NFKC(casefold(NFKC(name)))``.

    Two usernames are the same user exactly when their keys are equal
    (``username_key("Ada") == username_key("ada") == username_key("ａda")``).
    Idempotent (``username_key(username_key(x)) == username_key(x)``). A
    compatibility contract: never change it (see the module docstring).
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def invisible_character(name: str, *, bidi_only: bool = False) -> str | None:
    """Why ``name`` may not be a username, naming its first offending
    character (``contains U+200B ZERO WIDTH SPACE, an invisible character``),
    or None when it has none. With ``bidi_only`` only bidirectional controls
    and line or paragraph separators count (the rule for full names, where
    zero-width joiners belong in some scripts and in emoji)."""
    for character in name:
        why = _why_refused(character, bidi_only=bidi_only)
        if why is not None:
            return f"contains {display_character(character)}, {why}"
    return None


def _why_refused(character: str, *, bidi_only: bool) -> str | None:
    category = unicodedata.category(character)
    if character in BIDI_CONTROLS:
        return "a bidirectional control character, which can make text display in a misleading order"
    if category in ("Zl", "Zp"):
        return "a line break"
    if bidi_only:
        return None
    code = ord(character)
    if category == "Cf" or any(low <= code <= high for low, high in _IGNORABLE_RANGES):
        return "an invisible character"
    if category == "Co":
        return "a private-use character, which has no agreed appearance"
    if category == "Cs":
        return "a lone surrogate, which is not a character"
    if category == "Cn":
        return f"a code point that Unicode {unicodedata.unidata_version} does not assign"
    return None


def display_character(character: str) -> str:
    """``U+200B ZERO WIDTH SPACE``; code points without a name get their kind."""
    code = ord(character)
    kinds = {"Co": "<private use>", "Cs": "<surrogate>", "Cn": "<unassigned>"}
    name = unicodedata.name(character, "") or kinds.get(unicodedata.category(character), "<unnamed>")
    return f"U+{code:04X} {name}"


def same_spelling(name: str) -> str:
    """``name`` quoted with every character outside printable ASCII written as
    ``\\uXXXX``, so that two spellings of one key read differently in a
    message: ``'caf\\u00e9'`` and ``'cafe\\u0301'``."""
    escaped = "".join(
        character if " " <= character <= "~" and character not in "'\\" else _escape(character)
        for character in name
    )
    return f"'{escaped}'"


def _escape(character: str) -> str:
    if character in "'\\":
        return "\\" + character
    code = ord(character)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
