"""Turn the manifest's YAML text into plain Python data, and remember where
every value and key sits in the file.

Only ruamel.yaml's reader, scanner, parser and composer run over the text.
Values are built here from the composed nodes; scalars go through ruamel's
safe constructors, and only for the standard scalar tags. So no tag can make
an object: any other tag (``!!python/object/apply:...``, ``!custom``) is
reported as a problem and its value replaced by ``REJECTED``. Building the
values here (rather than in a ruamel constructor) is what gives each value,
merged keys and alias uses included, its own line and column, and what lets
the walk stop on alias bombs, recursive aliases and deep nesting.

Speed: ruamel's pure-Python scanner and parser take most of the time on a
large manifest (about 4 s of 5 for 10,000 users). Where PyYAML's libyaml
binding is installed, its C parser supplies the *events* instead (only
events: composing, tag resolution, construction and every check stay the
ones described above, YAML 1.2 as before). Its result is used only when the
document is clean: on any libyaml error, a ``%YAML``/``%TAG`` directive, a
character ruamel would refuse or that the two read differently (NEL, LS,
PS), or any problem at all, the text is read again by the pure parser, so
every problem's message and position are ruamel's
(``tests/test_manifest_fast_path.py`` holds the two to the same results).
"""

from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml import events as ruamel_events
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from providers.manifest.problems import Pointer, Problem, format_pointer

try:  # PyYAML's binding of libyaml: only its event parser is used
    from yaml import _yaml as _libyaml
except ImportError:  # pragma: no cover - PyYAML without its C extension, or not installed
    _libyaml = None

FAST_PARSER_AVAILABLE = _libyaml is not None
# Texts that only the pure parser reads: with a character that ruamel's reader
# refuses (ruamel.yaml.reader.Reader.NON_PRINTABLE), or with NEL, LS or PS,
# which libyaml takes for line breaks (YAML 1.1) and ruamel, in places, not.
_PURE_ONLY = re.compile("[^\x09\x0A\x0D\x20-\x7E\xA0-\u2027\u202A-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")

# Limits that keep a hostile or broken file cheap to reject. A valid manifest
# is four levels deep. Values reached again through an alias are counted: a
# manifest that shares a few flags or a merged mapping per user needs a few per
# user, an alias bomb ("billion laughs") needs billions.
MAX_NESTING_DEPTH = 32
MAX_ALIASED_VALUES = 100_000

STANDARD_TAG_PREFIX = "tag:yaml.org,2002:"
SCALAR_TAGS = frozenset(
    STANDARD_TAG_PREFIX + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)
STRING_TAG = STANDARD_TAG_PREFIX + "str"
MAPPING_TAG = STANDARD_TAG_PREFIX + "map"
SEQUENCE_TAG = STANDARD_TAG_PREFIX + "seq"
MERGE_TAG = STANDARD_TAG_PREFIX + "merge"

TOO_DEEP = f"nested more than {MAX_NESTING_DEPTH} levels deep"
TOO_MANY_ALIASED = (
    f"aliases expand to more than {MAX_ALIASED_VALUES} values (the limit); a manifest needs far fewer"
)
BAD_MERGE = "a merge key '<<' needs a mapping or a list of mappings"
RECURSIVE = "this alias refers to a value that contains it; recursive data is not allowed"
TAG_NOT_ALLOWED = "a YAML tag is not allowed here (only plain values)"

# Likely causes of ruamel's most common complaints, added to its message.
SYNTAX_HINTS = {
    "expected <block end>": "check the indentation",
    "mapping values are not allowed here": "check the indentation, or quote a value that contains ': '",
    "cannot start any token": "indent with spaces, not tabs",
}

# The line breaks that ruamel.yaml counts (str.splitlines() knows more).
LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")


class Position(NamedTuple):
    """A place in the file, 1-based."""

    line: int
    column: int


class _Rejected:
    """Stands in for a value that was reported and must not be looked at again."""

    def __repr__(self) -> str:
        return "REJECTED"


REJECTED: Any = _Rejected()


@dataclass
class YamlDocument:
    """The first document of the text as plain data (dict, list, str, bool,
    int, float, None, dates, or ``REJECTED``), with positions.

    ``values`` maps a pointer to where its value starts (for an alias, where
    the alias is used); ``keys`` maps a pointer to where its key starts.
    ``rejected`` holds the pointers already reported here, whose values later
    checks should leave alone. When ``usable`` is false the text could not be
    read as data at all and only ``problems`` is meaningful. ``top_keys`` are
    the string keys of the top-level mapping (None when the top level is not
    a mapping or the text is not YAML): what tells whether the file is meant
    to be a manifest at all.
    """

    path: str
    data: Any = None
    values: dict[Pointer, Position] = field(default_factory=dict)
    keys: dict[Pointer, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rejected: set[Pointer] = field(default_factory=set)
    usable: bool = True
    top_keys: frozenset[str] | None = None
    fast: bool = False  # read with libyaml's events; re-read the pure way before reporting a problem

    def problem(self, at: Position, pointer: Pointer, reason: str, plain: str | None = None) -> Problem:
        """Record and return a problem at ``at``; ``plain`` is the reason
        without the file's text, when ``reason`` quotes it."""
        found = Problem(self.path, at.line, at.column, format_pointer(pointer), reason, plain)
        self.problems.append(found)
        return found


class _Stop(Exception):
    """Ends the walk: the data cannot be used (a limit or a recursive alias)."""


def position_of(mark: Any) -> Position:
    """A ruamel mark (0-based) as a 1-based ``Position``."""
    return Position(mark.line + 1, mark.column + 1)


def position_at_index(text: str, index: int) -> Position:
    """The position of character ``index`` of ``text``."""
    before = text[:index]
    breaks = list(LINE_BREAK.finditer(before))
    start = breaks[-1].end() if breaks else 0
    return Position(len(breaks) + 1, index - start + 1)


def short_tag(tag: str) -> str:
    """``tag:yaml.org,2002:python/object`` -> ``!!python/object``."""
    return "!!" + tag[len(STANDARD_TAG_PREFIX) :] if tag.startswith(STANDARD_TAG_PREFIX) else tag


class AliasMarkingComposer(Composer):
    """A composer that also remembers where each alias is used.

    The composed graph only knows where an anchored node was defined; a
    problem in an aliased value belongs where the alias is. ``alias_marks``
    maps ``(id(parent node), slot, role)`` to the alias's mark, where slot is
    the pair index (mappings) or item index (sequences) and role is ``key``
    or ``value``.
    """

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.alias_marks: dict[tuple[int, int, str], Any] = {}
        self._parser_once: Any = None
        self._resolver_once: Any = None

    # ruamel looks the parser and resolver up through two properties on every
    # event (a fifth of the time on a large file); they never change.
    @property
    def parser(self) -> Any:
        if self._parser_once is None:
            self._parser_once = Composer.parser.fget(self)  # type: ignore[attr-defined]
        return self._parser_once

    @property
    def resolver(self) -> Any:
        if self._resolver_once is None:
            self._resolver_once = Composer.resolver.fget(self)  # type: ignore[attr-defined]
        return self._resolver_once

    def compose_node(self, parent: Any, index: Any) -> Any:
        if parent is not None and self.parser.check_event(AliasEvent):
            mark = self.parser.peek_event().start_mark
            if isinstance(parent, MappingNode):
                slot, role = len(parent.value), ("key" if index is None else "value")
            else:
                slot, role = index, "value"
            self.alias_marks[(id(parent), slot, role)] = mark
        return super().compose_node(parent, index)


@contextlib.contextmanager
def quiet_yaml() -> Iterator[None]:
    """Silence ruamel's warnings (about re-defined anchors, which are valid
    YAML): they would reach stderr on top of the problems."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def safe_yaml() -> YAML:
    """A pure-Python safe loader that records alias uses and stops deep nesting
    in the composer, well before Python's recursion limit."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = AliasMarkingComposer
    yaml.max_depth = MAX_NESTING_DEPTH + 1  # the walk below reports depth with a pointer
    return yaml


def read_yaml(text: str, path: str, *, fast: bool = True) -> YamlDocument:
    """Read ``text`` (named ``path`` in problems) into a ``YamlDocument``.

    Never raises for bad input: YAML syntax errors, a second document, tags
    other than the standard ones, duplicate keys, non-string keys, alias
    bombs, recursive aliases and deep nesting all become problems.

    With ``fast`` (and libyaml available) a clean text is read through
    libyaml's event parser and comes back with ``fast`` set; a caller that
    finds a problem in it must read it again with ``fast=False`` to report
    ruamel's positions (``loader.parse_manifest`` does).
    """
    if fast and _libyaml is not None and not _PURE_ONLY.search(text):
        document = _read_fast(text, path)
        if document is not None:
            return document
    return _read(text, path, safe_yaml())


def _read_fast(text: str, path: str) -> YamlDocument | None:
    """``text`` read through libyaml's events, or None when the pure parser
    must read it (a libyaml error, a directive, any problem)."""
    yaml = safe_yaml()
    events = _LibyamlEvents(text)
    yaml._parser = events  # ruamel's composer pulls its events from the loader's parser
    try:
        document = _read(text, path, yaml)
    except Exception:  # noqa: BLE001 - libyaml's errors (PyYAML's classes) and anything unforeseen
        return None
    if document.problems or not document.usable or events.directives:
        return None
    document.fast = True
    return document


class _LibyamlEvents:
    """libyaml's events for ``text`` as the ruamel events its composer expects
    (``check_event``, ``peek_event``, ``get_event``, ``dispose``)."""

    def __init__(self, text: str) -> None:
        self._parser = _libyaml.CParser(text)
        self._next: Any = None
        self.directives = False
        self.explicit_tags = False  # a node was tagged in the text ("!!str 1")
        self.block_scalars = False  # a scalar was written with "|" or ">"

    def _peek(self) -> Any:
        if self._next is None and self._parser.check_event():
            self._next = self._convert(self._parser.get_event())
        return self._next

    def check_event(self, *choices: type) -> bool:
        event = self._peek()
        return event is not None and (not choices or isinstance(event, choices))

    def peek_event(self) -> Any:
        return self._peek()

    def get_event(self) -> Any:
        event = self._peek()
        self._next = None
        return event

    def dispose(self) -> None:
        self._parser = None

    def _convert(self, event: Any) -> Any:
        kind = type(event).__name__
        marks = (event.start_mark, event.end_mark)
        if kind == "ScalarEvent":
            style = event.style or None  # libyaml says '' for plain, ruamel None
            self.explicit_tags = self.explicit_tags or event.tag is not None
            self.block_scalars = self.block_scalars or style in ("|", ">")
            return ruamel_events.ScalarEvent(event.anchor, event.tag, event.implicit, event.value, *marks, style=style)
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            self.explicit_tags = self.explicit_tags or event.tag is not None
            made = getattr(ruamel_events, kind)
            return made(event.anchor, event.tag, event.implicit, *marks, flow_style=event.flow_style)
        if kind == "AliasEvent":
            return ruamel_events.AliasEvent(event.anchor, *marks)
        if kind == "DocumentStartEvent":
            self.directives = self.directives or event.version is not None or bool(event.tags)
            return ruamel_events.DocumentStartEvent(*marks, explicit=event.explicit, version=event.version)
        if kind == "DocumentEndEvent":
            return ruamel_events.DocumentEndEvent(*marks, explicit=event.explicit)
        return getattr(ruamel_events, kind)(*marks)  # stream start and end, collection ends


@dataclass
class ComposedText:
    """The first document of a text as composed nodes (``root`` is None for
    an empty text), with the composer's ``alias_marks``. ``fast`` tells that
    libyaml's events made it; only then do ``explicit_tags`` (a node had a
    tag in the text) and ``block_scalars`` (a ``|`` or ``>`` scalar) say
    anything: they are True for a pure compose."""

    root: Node | None
    alias_marks: dict[tuple[int, int, str], Any]
    fast: bool = False
    explicit_tags: bool = True
    block_scalars: bool = True


def compose_fast(text: str) -> ComposedText | None:
    """The single document of ``text`` composed from libyaml's events (the
    nodes, tags and marks that ``read_yaml``'s fast path works on), or None
    when the pure parser must read it: no libyaml, a character only the pure
    parser reads, a directive, a second document, or any error."""
    if _libyaml is None or _PURE_ONLY.search(text):
        return None
    yaml = safe_yaml()
    events = _LibyamlEvents(text)
    yaml._parser = events
    try:
        with quiet_yaml():
            documents = yaml.compose_all(text)
            root = next(documents, None)
            if root is not None and next(documents, None) is not None:
                return None
    except Exception:  # noqa: BLE001 - libyaml's errors (PyYAML's classes) and anything unforeseen
        return None
    if events.directives:
        return None
    return ComposedText(root, yaml.composer.alias_marks, True, events.explicit_tags, events.block_scalars)


def document_of(composed: ComposedText, path: str) -> YamlDocument:
    """The ``YamlDocument`` of an already composed text, built as ``read_yaml``
    builds one (``fast`` as ``composed`` was made). Build it before anything
    else constructs from the same nodes: ruamel's constructors edit merges."""
    document = YamlDocument(path, fast=composed.fast)
    yaml = safe_yaml()
    try:
        with quiet_yaml():
            if composed.root is None:
                document.values[()] = Position(1, 1)
            else:
                document.top_keys = _top_keys(composed.root)
                _Builder(document, yaml.constructor.construct_object, composed.alias_marks).root(composed.root)
    except _Stop:
        document.usable = False
    except RecursionError:
        document.usable = False
        document.problem(Position(1, 1), (), TOO_DEEP)
    return document


def _read(text: str, path: str, yaml: YAML) -> YamlDocument:
    document = YamlDocument(path)
    try:
        with quiet_yaml():
            documents = yaml.compose_all(text)
            root = next(documents, None)
            if root is None:
                document.values[()] = Position(1, 1)
            else:
                document.top_keys = _top_keys(root)
                _Builder(document, yaml.constructor.construct_object, yaml.composer.alias_marks).root(root)
                extra = next(documents, None)
                if extra is not None:
                    document.problem(
                        position_of(extra.start_mark),
                        (),
                        "a second YAML document starts here; the manifest must be a single document",
                    )
    except _Stop:
        document.usable = False
    except MaxDepthExceededError as error:
        document.usable = False
        document.problem(position_of(error.problem_mark), (), TOO_DEEP)
    except MarkedYAMLError as error:
        document.usable = False
        document.problems.append(syntax_problem(error, path))
    except ReaderError as error:
        document.usable = False
        character = error.character if isinstance(error.character, int) else ord(error.character)
        document.problem(
            position_at_index(text, error.position),
            (),
            f"invalid YAML: character U+{character:04X} is not allowed in YAML text",
        )
    except RecursionError:
        document.usable = False
        document.problem(Position(1, 1), (), TOO_DEEP)
    return document


def _top_keys(root: Node) -> frozenset[str] | None:
    if not isinstance(root, MappingNode):
        return None
    return frozenset(str(key.value) for key, _value in root.value if isinstance(key, ScalarNode))


# A quoted piece of ruamel's message: a token name ('<block mapping start>')
# and one character that is not a letter or digit ('\t', ':') are ruamel's
# words; anything else (an alias or tag name, a letter) is the file's text.
_QUOTED = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_TOKEN_NAME = re.compile(r"""['"]<[a-z ]+>['"]""")


def _without_text(message: str) -> str:
    """``message`` without any text of the file that ruamel quoted in it:
    the text may not be a manifest at all (a dotenv file, ``/etc/passwd``)."""

    def keep_or_drop(match: re.Match[str]) -> str:
        quoted = match.group(1)
        if _TOKEN_NAME.fullmatch(quoted):
            return match.group(0)
        inner = quoted[1:-1]
        single = len(inner) == 1 or (len(inner) == 2 and inner[0] == "\\")
        if (single and not inner[-1].isalnum()) or inner in ("\\t", "\\n", "\\r"):
            return match.group(0)
        return ""

    return _QUOTED.sub(keep_or_drop, message)


def syntax_problem(error: MarkedYAMLError, path: str) -> Problem:
    """A ruamel syntax error as a problem at the parser's line and column.
    Nothing of the text is quoted (no snippet, no names), only ruamel's words
    and single punctuation characters such as ``'\t'``."""
    mark = error.problem_mark or error.context_mark
    where = position_of(mark) if mark is not None else Position(1, 1)
    reason = _without_text(str(error.problem or error.context or "cannot be parsed")).strip()
    if error.problem and error.context:
        context = _without_text(str(error.context)).strip()
        if error.context_mark is not None and error.context_mark is not mark:
            context += f" that starts on line {error.context_mark.line + 1}"
        reason += f" ({context})"
    hints = [hint for phrase, hint in SYNTAX_HINTS.items() if phrase in reason]
    if hints:
        reason += f"; {hints[0]}"
    return Problem(path, where.line, where.column, "", f"invalid YAML: {reason}")


class _Builder:
    """Builds plain values from composed nodes, expanding aliases and merge
    keys, within ``MAX_ALIASED_VALUES`` and ``MAX_NESTING_DEPTH``."""

    def __init__(
        self,
        document: YamlDocument,
        construct: Callable[[Node], Any],
        alias_marks: dict[tuple[int, int, str], Any],
    ) -> None:
        self.document = document
        self.construct = construct
        self.alias_marks = alias_marks
        self.aliased = 0  # values built again because an alias refers to them
        self.built: set[int] = set()
        self.open: set[int] = set()  # nodes being built: meeting one again is a cycle
        self.reported: set[int] = set()  # nodes whose tag was already reported

    def root(self, node: Node) -> None:
        self.document.data = self.build(node, (), position_of(node.start_mark), 1)

    def at(self, parent: Node, slot: int, role: str, node: Node) -> Position:
        mark = self.alias_marks.get((id(parent), slot, role))
        return position_of(mark if mark is not None else node.start_mark)

    def stop(self, at: Position, pointer: Pointer, reason: str) -> _Stop:
        self.document.problem(at, pointer, reason)
        return _Stop(reason)

    def count(self, node: Node, at: Position, pointer: Pointer) -> None:
        if id(node) not in self.built:
            self.built.add(id(node))
            return
        self.aliased += 1
        if self.aliased > MAX_ALIASED_VALUES:
            raise self.stop(at, pointer, TOO_MANY_ALIASED)

    def build(self, node: Node, pointer: Pointer, at: Position, depth: int) -> Any:
        self.document.values[pointer] = at
        self.count(node, at, pointer)
        if depth > MAX_NESTING_DEPTH:
            raise self.stop(at, pointer, TOO_DEEP)
        if id(node) in self.open:
            raise self.stop(at, pointer, RECURSIVE)
        expected = {ScalarNode: SCALAR_TAGS, MappingNode: {MAPPING_TAG}, SequenceNode: {SEQUENCE_TAG}}
        if node.tag not in expected.get(type(node), ()):
            return self.reject(node, pointer, _tag_not_allowed(node), TAG_NOT_ALLOWED)
        if isinstance(node, ScalarNode):
            try:
                return self.construct(node)
            except Exception:  # noqa: BLE001 - the safe constructors raise several types on malformed scalars
                reason = f"cannot read {node.value!r} as {short_tag(str(node.tag))}"
                return self.reject(node, pointer, reason, "cannot read a value as its YAML tag says")
        self.open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [
                    self.build(item, (*pointer, index), self.at(node, index, "value", item), depth + 1)
                    for index, item in enumerate(node.value)
                ]
            return self.mapping(node, pointer, at, depth)
        finally:
            self.open.discard(id(node))

    def reject(self, node: Node, pointer: Pointer, reason: str, plain: str | None = None) -> Any:
        if id(node) not in self.reported:
            self.reported.add(id(node))
            self.document.problem(position_of(node.start_mark), pointer, reason, plain)
        self.document.rejected.add(pointer)
        return REJECTED

    def mapping(self, node: MappingNode, pointer: Pointer, at: Position, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges = [(index, pair) for index, pair in enumerate(node.value) if pair[0].tag == MERGE_TAG]
        for number, (index, (key_node, value_node)) in enumerate(merges):
            key_at = self.at(node, index, "key", key_node)
            if number:
                self.document.problem(key_at, pointer, "duplicate merge key '<<'")  # ruamel's word, not the file's
                continue
            result.update(self.merged(value_node, pointer, self.at(node, index, "value", value_node), depth))
        self.document.values[pointer] = at  # merged sources were built at this pointer too
        seen: dict[str, Position] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            if key_node.tag == MERGE_TAG:
                continue
            key_at = self.at(node, index, "key", key_node)
            key = self.key(key_node, pointer, key_at)
            if key is None:
                continue
            child = (*pointer, key)
            if key in seen:
                first = seen[key].line
                self.document.problem(
                    key_at, child, f"duplicate key '{key}'; first on line {first}", f"duplicate key; first on line {first}"
                )
                continue
            seen[key] = key_at
            self.document.keys[child] = key_at
            value_at = self.at(node, index, "value", value_node)
            if _is_implicit_empty(value_node) and (id(node), index, "value") not in self.alias_marks:
                value_at = key_at  # ruamel marks an empty value where the next token starts
            result[key] = self.build(value_node, child, value_at, depth + 1)
        return result

    def merged(self, source: Node, pointer: Pointer, at: Position, depth: int) -> dict[str, Any]:
        """The keys that ``<<: source`` brings in; with a list of mappings,
        the first mapping that has a key wins (YAML merge-key semantics)."""
        if isinstance(source, SequenceNode) and source.tag != SEQUENCE_TAG:
            self.reject(source, pointer, _tag_not_allowed(source), TAG_NOT_ALLOWED)
            return {}
        sources = source.value if isinstance(source, SequenceNode) else [source]
        result: dict[str, Any] = {}
        for index, item in reversed(list(enumerate(sources))):
            item_at = self.at(source, index, "value", item) if item is not source else at
            if not isinstance(item, MappingNode):
                self.document.problem(item_at, pointer, BAD_MERGE)
                continue
            built = self.build(item, pointer, item_at, depth + 1)
            if isinstance(built, dict):
                result.update(built)
        return result

    def key(self, node: Node, pointer: Pointer, at: Position) -> str | None:
        self.count(node, at, pointer)
        if isinstance(node, ScalarNode) and node.tag == STRING_TAG:
            return str(self.construct(node))
        if isinstance(node, ScalarNode):
            self.document.problem(
                at, pointer, f"key {node.value!r} is not a string; put it in quotes", "a key is not a string"
            )
        else:
            kind = "list" if isinstance(node, SequenceNode) else "mapping"
            self.document.problem(at, pointer, f"a key must be a string, not a {kind}")
        return None


def _is_implicit_empty(node: Node) -> bool:
    """``key:`` with nothing after it (not ``''`` nor ``~``)."""
    return isinstance(node, ScalarNode) and node.value == "" and not node.style


def _tag_not_allowed(node: Node) -> str:
    return f"YAML tag '{short_tag(str(node.tag))}' is not allowed (only plain values)"
