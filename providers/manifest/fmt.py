"""Rewrite a valid manifest in one canonical order and style, so that a pull
request's diff shows only real changes.

Canonical means: the ``yaml-language-server`` line first (added if missing
and a modeline is asked for: see ``schema_modeline``);
top-level keys in the order ``version, allowEmpty, users``; users sorted by
username, ignoring case; each user's keys in the order ``username, fullName,
previousUsernames, protect, retainOnDelete``; block style with two-space
indents and indented list dashes; strings in the plainest style YAML allows
(no ``|``, ``>`` or ``!!str``); no blank lines except one kept before a
comment that had one; one final newline. Keys, values, anchors, aliases,
merge keys and comments all stay; ``%YAML`` and ``---`` lines do not.

How: ruamel.yaml's round-trip loader reads the data (keeping anchors, aliases
and merge keys), the keys and users are put in order and ruamel dumps it
without comments. Comments are then put back by where they were: an
end-of-line comment goes with the first key or value on its line, a comment
line with the next one; both are found again in the new text by pointer.
The result is checked before it is returned: it must parse to the same users
and hold the same comments, or ``FormatError`` is raised.
"""

from __future__ import annotations

import bisect
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from ruamel.yaml import YAML
from ruamel.yaml.comments import Comment, CommentedBase, CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.scalarstring import ScalarString

from providers.manifest.loader import DEFAULT_MANIFEST_PATH, Manifest, ManifestError, parse_manifest
from providers.manifest.problems import Pointer
from providers.manifest.yaml_reader import (
    LINE_BREAK,
    STRING_TAG,
    ComposedText,
    YamlDocument,
    compose_fast,
    document_of,
    quiet_yaml,
    safe_yaml,
)

TOP_LEVEL_ORDER = ("version", "allowEmpty", "users")
USER_KEY_ORDER = ("username", "fullName", "previousUsernames", "protect", "retainOnDelete", "deleteAdopted")
MODELINE = "# yaml-language-server: $schema=./users.schema.json"
MODELINE_PREFIX = "# yaml-language-server:"
SCHEMA_FILE_NAME = "users.schema.json"
INDENT = {"mapping": 2, "sequence": 4, "offset": 2}  # gives "users:\n  - username: ..."
LINE_WIDTH = 4096  # never fold: values are at most 255 characters


class FormatError(Exception):
    """Formatting would have changed what the manifest means or lost a
    comment; the file is left as it is. A bug to report, not a user error."""


def schema_modeline(path: str | os.PathLike[str]) -> str | None:
    """The modeline to add to the manifest at ``path``: ``MODELINE`` when a
    ``users.schema.json`` sits beside it (as in the alloy-users repository,
    where it is a link to the packaged schema), else None: in another
    repository ``./users.schema.json`` would point at nothing."""
    folder = os.path.dirname(os.fspath(path)) or "."
    return MODELINE if os.path.isfile(os.path.join(folder, SCHEMA_FILE_NAME)) else None


def format_manifest(text: str, path: str = DEFAULT_MANIFEST_PATH, *, modeline: str | None = MODELINE) -> str:
    """The canonical form of manifest ``text``. Idempotent: formatting the
    result again returns it unchanged. A ``yaml-language-server`` line already
    there is kept (and put first); otherwise ``modeline`` is added, unless it
    is None (``schema_modeline(path)`` tells which fits a file).

    Raises ``ManifestError`` if ``text`` is not a valid manifest (nothing is
    formatted then) and ``FormatError`` if the result would not mean the same.
    """
    before = parse_manifest(text, path)
    text = text.removeprefix("\ufeff")
    with quiet_yaml():
        source = _compose(text)
        comments = _Comments.of(text, source)
        expected = document_of(source, path) if source.fast else None  # before ruamel's constructor edits merges
        data = _round_trip_load(text, source)
        order = _canonicalise(data, before)
        result, added = comments.placed(_dump(data), order, modeline)
    _verify(before, comments.texts() + ([modeline] if added and modeline else []), result, path, (expected, order))
    return result


def _compose(text: str) -> ComposedText:
    """``text``'s first document as nodes: from libyaml's events where
    ``compose_fast`` allows, else by ruamel's pure parser (which raises on
    bad YAML)."""
    composed = compose_fast(text)
    if composed is not None:
        return composed
    yaml = safe_yaml()
    root = next(yaml.compose_all(text), None)
    return ComposedText(root, yaml.composer.alias_marks)


# -- canonical data -------------------------------------------------------------


def _round_trip_load(text: str, source: ComposedText) -> Any:
    """``text`` as ruamel's round-trip data. From the nodes already composed
    when libyaml read them and nothing in them depends on the round-trip
    parser (explicit tags, which it keeps as written; block scalars, which
    can carry a comment): comments are dropped anyway. Else read again by
    the round-trip loader. Call it last on ``source``: it edits merges."""
    if source.fast and source.root is not None and not source.explicit_tags and not source.block_scalars:
        return _round_trip_yaml().constructor.construct_document(source.root)
    return _round_trip_yaml().load(text)


def _round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(**INDENT)
    yaml.width = LINE_WIDTH
    return yaml


def _canonicalise(data: CommentedMap, manifest: Manifest) -> list[int]:
    """Order keys and users in place, drop comments and flow style. Returns the
    users' old indexes in their new order. ``manifest`` is ``data`` validated:
    its usernames are plain strings whatever the YAML said (``!!str 123``)."""
    _restyle(data)
    _order_keys(data, TOP_LEVEL_ORDER)
    users = data["users"]
    names = [user.username for user in manifest.users]
    order = sorted(range(len(users)), key=lambda index: (names[index].casefold(), names[index]))
    entries = [users[index] for index in order]
    del users[:]
    users.extend(entries)
    for entry in entries:
        _order_keys(entry, USER_KEY_ORDER)
    return order


def _order_keys(mapping: CommentedMap, order: tuple[str, ...]) -> None:
    own = [key for key, _value in mapping.non_merged_items()]
    for key in order:
        if key in own:
            mapping.move_to_end(key)


def _restyle(value: Any) -> None:
    """Comments off (they are put back by position), block style on, block
    scalars (``|``, ``>``) as plain strings, throughout ``value``."""
    if isinstance(value, CommentedBase):
        setattr(value, Comment.attrib, Comment())
    if isinstance(value, CommentedMap):
        value.fa.set_block_style()
        items = list(value.non_merged_items())
        if any(isinstance(key, TaggedScalar) for key, _item in items):  # "!!str users:"
            for key, _item in items:
                del value[key]
            for key, item in items:
                value[str(key.value) if isinstance(key, TaggedScalar) else key] = item
        for key, item in list(value.non_merged_items()):
            _set_plain(value, key, item)
            _restyle(value[key])
        for source in value.merge:
            _restyle(source)
        if getattr(value.merge, "sequence", None) is not None:  # "<<: [*a, *b]"
            _restyle(value.merge.sequence)
    elif isinstance(value, CommentedSeq):
        value.fa.set_block_style()
        for index, item in enumerate(value):
            _set_plain(value, index, item)
            _restyle(value[index])


def _set_plain(container: Any, key: Any, item: Any) -> None:
    """A block-style (``|``, ``>``) or ``!!str``-tagged string as a plain one,
    dumped in the plainest style YAML allows. Anchored strings stay as they
    are: their aliases point at them."""
    if isinstance(item, ScalarString) and item.yaml_anchor() is None:
        plain = str(item)
    elif isinstance(item, TaggedScalar) and str(item.tag) == STRING_TAG and item.yaml_anchor() is None:
        plain = str(item.value)
    else:
        return
    container[key] = None  # ruamel keeps a string's style when a string replaces it
    container[key] = plain


def _dump(data: Any) -> str:
    stream = io.StringIO()
    _round_trip_yaml().dump(data, stream)
    return stream.getvalue()


# -- comments -------------------------------------------------------------------

Target = tuple[Pointer, str]  # (pointer, "key" | "value")


@dataclass(frozen=True)
class _Comment:
    text: str  # from "#" to the end of the line, without trailing blanks
    blank_before: bool = False  # a comment line that had a blank line above it
    line: int = 0  # where it was, to keep file order among comments placed together


@dataclass
class _Comments:
    """A text's comments, each tied to the value it belongs with."""

    header: list[_Comment] = field(default_factory=list)  # before the first value
    blank_after_header: bool = False
    before: list[tuple[Target, _Comment]] = field(default_factory=list)  # comment lines
    after: list[tuple[Target, _Comment]] = field(default_factory=list)  # end-of-line comments
    trailing: list[_Comment] = field(default_factory=list)  # after the last value

    @classmethod
    def of(cls, text: str, composed: ComposedText | None = None) -> _Comments:
        """Find and tie the comments of ``text``, which must be valid YAML
        (``composed``: its nodes, if already at hand)."""
        lines = LINE_BREAK.split(text)
        points, spans = _layout(composed if composed is not None else _compose(text))
        starts = [(line, column) for line, column, _target in points]
        comments = cls()
        first_value = starts[0] if starts else (len(lines), 0)
        last_header_line = -1
        for line, column, comment in _find_comments(lines, spans):
            here = (line, column)
            line_start = bisect.bisect_left(starts, (line, -1))
            following = bisect.bisect_left(starts, here)  # the first value after the comment
            if here < first_value:
                comments.header.append(comment)
                last_header_line = line
            elif following > line_start:  # it ends a line: it goes with the line's first value
                comments.after.append((points[line_start][2], comment))
            elif following < len(points):
                comments.before.append((points[following][2], comment))
            else:
                comments.trailing.append(comment)
        if comments.header:
            between = lines[last_header_line + 1 : first_value[0]]
            comments.blank_after_header = any(not line.strip() for line in between)
        return comments

    def texts(self) -> list[str]:
        """Every comment's text."""
        tied = [comment for _target, comment in self.before + self.after]
        return [comment.text for comment in self.header + tied + self.trailing]

    def placed(self, body: str, order: list[int], modeline: str | None) -> tuple[str, bool]:
        """``body`` (canonical YAML without comments) with these comments put
        back; ``order`` maps the users' new positions to their old ones.
        Returns the text and whether the modeline had to be added."""
        lines = body.rstrip("\n").split("\n")
        where = _line_index(body)
        moved = {old: new for new, old in enumerate(order)}
        above: dict[int, list[_Comment]] = {}
        beside: dict[int, str] = {}
        tied = [(comment, target, True) for target, comment in self.after]
        tied += [(comment, target, False) for target, comment in self.before]
        for comment, target, ends_line in sorted(tied, key=lambda item: item[0].line):
            line = _find(where, _renumbered(target, moved))
            if ends_line and line not in beside:
                beside[line] = comment.text
            else:  # a comment line, or a second end-of-line comment for the same line
                above.setdefault(line, []).append(comment if not ends_line else _Comment(comment.text))
        out: list[str] = []
        header, added = _with_modeline(self.header, modeline)
        for index, comment in enumerate(header):
            _emit(out, "", comment, allow_blank=index > 0)
        if header and self.blank_after_header:
            out.append("")
        for number, line in enumerate(lines):
            indent = line[: len(line) - len(line.lstrip(" "))]
            for comment in above.get(number, []):
                _emit(out, indent, comment, allow_blank=bool(out))
            out.append(f"{line} {beside[number]}" if number in beside else line)
        for comment in self.trailing:
            _emit(out, "", comment, allow_blank=True)
        return "\n".join(out) + "\n", added


def _emit(out: list[str], indent: str, comment: _Comment, *, allow_blank: bool) -> None:
    if comment.blank_before and allow_blank and out and out[-1] != "":
        out.append("")
    out.append(indent + comment.text)


def _with_modeline(header: list[_Comment], modeline: str | None) -> tuple[list[_Comment], bool]:
    """The header with the ``yaml-language-server`` line first (``modeline``
    added if there is none and it is not None)."""
    for index, comment in enumerate(header):
        if comment.text.startswith(MODELINE_PREFIX):
            return [_Comment(comment.text)] + header[:index] + header[index + 1 :], False
    if modeline is None:
        return header, False
    return [_Comment(modeline)] + header, True


def _renumbered(target: Target, moved: dict[int, int]) -> Target:
    pointer, role = target
    if len(pointer) >= 2 and pointer[0] == "users" and isinstance(pointer[1], int):
        pointer = ("users", moved.get(pointer[1], pointer[1]), *pointer[2:])
    return (pointer, role)


def _find(where: dict[Target, int], target: Target) -> int:
    """The line of ``target``, or of its nearest enclosing value."""
    pointer, role = target
    while (pointer, role) not in where and pointer:
        pointer, role = pointer[:-1], "value"
    return where.get((pointer, role), 0)


def _line_index(text: str) -> dict[Target, int]:
    """Where each key and value starts in ``text`` (0-based lines; the first
    place for a value that appears more than once through aliases)."""
    where: dict[Target, int] = {}
    for line, _column, target in _layout(_compose(text))[0]:
        where.setdefault(target, line)
    return where


def _layout(composed: ComposedText) -> tuple[list[tuple[int, int, Target]], list[tuple[int, int, int, int]]]:
    """The starts of every key and value (lists aside) in the composed text,
    in file order, as ``(line, column, (pointer, role))``, and the spans of its
    scalars as ``(line, column, end line, end column)``, all 0-based."""
    root, alias_marks = composed.root, composed.alias_marks
    points: list[tuple[int, int, Target]] = []
    spans: list[tuple[int, int, int, int]] = []
    seen: set[int] = set()

    def mark_of(parent: Node, slot: int, role: str, node: Node) -> tuple[Any, bool]:
        mark = alias_marks.get((id(parent), slot, role))
        return (node.start_mark, False) if mark is None else (mark, True)

    def visit(node: Node, pointer: Pointer, mark: Any, alias: bool) -> None:
        # A collection starts where its first item does (a list one dash
        # earlier): a comment there belongs to the item, which may move. The
        # root and lists are left out; user entries stay, as a comment on an
        # entry's first line is about the entry.
        if pointer and not isinstance(node, SequenceNode):
            points.append((mark.line, mark.column, (pointer, "value")))
        if alias or id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            spans.append(_span(node))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                visit(item, (*pointer, index), *mark_of(node, index, "value", item))
        elif isinstance(node, MappingNode):
            for index, (key, value) in enumerate(node.value):
                key_mark, _alias = mark_of(node, index, "key", key)
                child = (*pointer, str(key.value))
                points.append((key_mark.line, key_mark.column, (child, "key")))
                if isinstance(key, ScalarNode):
                    spans.append(_span(key))
                visit(value, child, *mark_of(node, index, "value", value))

    if root is not None:
        visit(root, (), root.start_mark, False)
    order = {id(point): number for number, point in enumerate(points)}
    points.sort(key=lambda point: (point[0], point[1], order[id(point)]))
    return points, spans


def _span(node: ScalarNode) -> tuple[int, int, int, int]:
    start, end = node.start_mark, node.end_mark
    if node.style in ("|", ">"):  # a comment may follow the indicator on its line
        return (start.line + 1, 0, end.line, end.column)
    return (start.line, start.column, end.line, end.column)


def _find_comments(
    lines: list[str], spans: list[tuple[int, int, int, int]]
) -> Iterator[tuple[int, int, _Comment]]:
    """``(line, column, comment)`` for each comment: a ``#`` at the start of
    a line or after a blank, outside every scalar."""
    inside: dict[int, list[tuple[int, float]]] = {}
    for line, column, end_line, end_column in spans:
        for number in range(line, end_line + 1):
            low = column if number == line else 0
            high = end_column if number == end_line else float("inf")
            inside.setdefault(number, []).append((low, high))
    for number, text in enumerate(lines):
        column = text.find("#")
        while column != -1:
            free = column == 0 or text[column - 1] in " \t"
            if free and not any(low <= column < high for low, high in inside.get(number, ())):
                blank_before = number > 0 and not lines[number - 1].strip()
                yield number, column, _Comment(text[column:].rstrip(), blank_before, number)
                break
            column = text.find("#", column + 1)


# -- the safety net -------------------------------------------------------------


def _meaning(manifest: Manifest) -> tuple[Any, ...]:
    users = sorted(
        (user.username, user.full_name, user.protect, user.retain_on_delete, user.delete_adopted, user.previous_usernames)
        for user in manifest.users
    )
    return (manifest.version, manifest.allow_empty, users)


def _verify(
    before: Manifest,
    comments: list[str],
    result: str,
    path: str,
    source: tuple[YamlDocument | None, list[int]] = (None, []),
) -> None:
    """Raise ``FormatError`` unless ``result`` means what ``before`` does and
    holds exactly ``comments``. ``source`` is the formatted text's document
    (if libyaml read it) and the users' old indexes in their new order: when
    ``result`` reads back, through libyaml, to exactly that data in that
    order, it is as valid as the text was and ``parse_manifest`` need not
    check it again; otherwise it does."""
    left = "the file was left as it is"
    with quiet_yaml():
        composed = compose_fast(result)
        same = composed is not None and _reads_back(source, document_of(composed, path))
    if not same:
        try:
            after = parse_manifest(result, path)
        except ManifestError as invalid:
            raise FormatError(f"{path}: formatting would make the manifest invalid; {left}") from invalid
        if _meaning(after) != _meaning(before):
            raise FormatError(f"{path}: formatting would change the users it describes; {left}")
    with quiet_yaml():
        kept = _Comments.of(result, composed).texts()
    if Counter(kept) != Counter(comments):
        raise FormatError(f"{path}: formatting would lose or alter a comment; {left}")


def _reads_back(source: tuple[YamlDocument | None, list[int]], after: YamlDocument) -> bool:
    """Whether ``after`` holds, without a problem, the data of ``source``'s
    clean document with its users in the new order."""
    document, order = source
    if document is None or document.problems or not document.usable or after.problems or not after.usable:
        return False
    expected = document.data
    if not isinstance(expected, dict) or not isinstance(expected.get("users"), list):
        return False
    users = expected["users"]
    if sorted(order) != list(range(len(users))):
        return False
    return _identical(after.data, {**expected, "users": [users[index] for index in order]})


def _identical(left: Any, right: Any) -> bool:
    """Equal, with the same types throughout (``1 == True`` does not count)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_identical(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_identical(a, b) for a, b in zip(left, right))
    return bool(left == right)
