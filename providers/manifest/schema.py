"""Check the manifest's shape against ``users.schema.json`` (JSON Schema
2020-12) and put each violation in words, at the line of the value at fault.

The schema file is the only statement of the shape rules. This module only
translates jsonschema's errors: "is required" at the mapping that lacks the
key, "unknown key 'fullname' (did you mean 'fullName'?)" at the key, and one
reason per offending value (the most basic one: a wrong type before a bad
length). A ``patternErrorMessage`` in the schema (the keyword editors use
too) gives a pattern's reason.

Nothing of a file that is not recognisably a manifest is ever quoted: its
text may be anything (a dotenv file with secrets, ``/etc/passwd``) and the
problems reach pull-request comments. A file is recognisably a manifest when
its top level is a mapping with at least one of the manifest's own keys
(``version``, ``allowEmpty``, ``users``); of any other file only its shape
is told (``got a string``), never a key or value.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import json
import re
from pathlib import Path
from typing import Any, Iterator

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from providers.manifest.problems import Pointer, Problem, format_pointer
from providers.manifest.yaml_reader import Position, YamlDocument

SCHEMA_PATH = Path(__file__).resolve().parent / "users.schema.json"

# Which error to show when one value breaks several rules: the first of these.
KEYWORD_RANK = {
    "type": 0,
    "const": 1,
    "enum": 1,
    "minLength": 2,
    "pattern": 3,
    "maxLength": 4,
    "uniqueItems": 5,
}
TYPE_WORDS = {
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "integer": "an integer",
    "number": "a number",
    "null": "empty",
}
LONGEST_QUOTED_VALUE = 60


@functools.lru_cache(maxsize=1)
def schema_validator() -> Draft202012Validator:
    """The validator for ``users.schema.json``, read once. Its local
    ``$ref``s are inlined first (the same rules, checked twice as fast: a
    ``$ref`` lookup per value is half of the time on 10,000 users)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(inline_local_refs(schema))


def inline_local_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with each ``{"$ref": "#/$defs/NAME", ...}`` replaced by the
    keywords of ``NAME`` merged with its siblings, and no ``$defs``. Returns
    ``schema`` itself when that is not possible without changing its meaning
    (another kind of ``$ref``, a keyword on both sides, a recursive ``$ref``)."""
    definitions = schema.get("$defs", {})

    def inline(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        result: dict[str, Any] = {}
        reference = node.get("$ref")
        if reference is not None:
            name = reference.removeprefix("#/$defs/")
            if not isinstance(reference, str) or name == reference or name not in definitions or name in seen:
                raise _CannotInline(reference)
            result.update(inline(definitions[name], (*seen, name)))
        for key, value in node.items():
            if key in ("$ref", "$defs"):
                continue
            if key in result:
                raise _CannotInline(key)
            result[key] = inline(value, seen)
        return result

    try:
        return inline(schema, ())
    except _CannotInline:
        return schema


class _CannotInline(Exception):
    pass


@functools.lru_cache(maxsize=1)
def manifest_keys() -> frozenset[str]:
    """The top-level keys of a manifest, as the schema names them."""
    return frozenset(schema_validator().schema["properties"])


def looks_like_manifest(document: YamlDocument) -> bool:
    """Whether ``document`` is recognisably meant as a manifest: its top level
    is a mapping with one of ``manifest_keys()``. Problems in any other
    document must not quote its keys or values."""
    keys = set(document.data) if isinstance(document.data, dict) else document.top_keys
    return keys is not None and not manifest_keys().isdisjoint(keys)


def shape_problems(document: YamlDocument) -> list[Problem]:
    """Every schema violation of ``document.data`` as a problem: one per
    offending value, one per missing or unknown key. Values under a pointer in
    ``document.rejected`` were reported already and are left alone. A mapping
    that is not recognisably a manifest gets one problem that quotes nothing."""
    validator = schema_validator()
    if isinstance(document.data, dict) and not looks_like_manifest(document):
        keys = ", ".join(sorted(manifest_keys(), key=list(validator.schema["properties"]).index))
        reason = f"not a manifest: the top-level mapping has none of the keys {keys} (its content is not shown)"
        return [_problem(document, _position(document, ()), (), reason)]
    problems: list[Problem] = []
    worst: dict[Pointer, ValidationError] = {}
    for error in validator.iter_errors(document.data):
        pointer = tuple(error.absolute_path)
        if any(pointer[:size] in document.rejected for size in range(len(pointer) + 1)):
            continue
        if error.validator in ("required", "additionalProperties"):
            problems.extend(_key_problems(document, error, pointer))
        elif pointer not in worst or _rank(error) < _rank(worst[pointer]):
            worst[pointer] = error
    for pointer, error in worst.items():
        problems.append(_value_problem(document, validator, error, pointer))
    return problems


def _rank(error: ValidationError) -> tuple[int, tuple[str, ...]]:
    return (KEYWORD_RANK.get(str(error.validator), 9), tuple(str(step) for step in error.schema_path))


def _key_problems(document: YamlDocument, error: ValidationError, pointer: Pointer) -> Iterator[Problem]:
    instance = error.instance
    if error.validator == "required":
        for key in error.validator_value:
            if key not in instance:
                yield _problem(document, _position(document, pointer), (*pointer, key), "is required")
        return
    known = list(error.schema.get("properties", {}))
    for key in instance:
        if key not in known:
            at = document.keys.get((*pointer, key)) or _position(document, pointer)
            yield _problem(document, at, pointer, _unknown_key(key, known))


def _unknown_key(key: str, known: list[str]) -> str:
    """``unknown key 'fullname' (did you mean 'fullName'?)``, matching case-
    and punctuation-blind first (``full_name``), then by similar spelling."""

    def plain(name: str) -> str:
        return re.sub(r"[^a-z0-9]", "", name.lower())

    by_plain = {plain(name): name for name in known}
    guess = by_plain.get(plain(key))
    if guess is None:
        close = difflib.get_close_matches(plain(key), list(by_plain), n=1, cutoff=0.6)
        guess = by_plain[close[0]] if close else None
    if guess is not None:
        return f"unknown key {key!r} (did you mean {guess!r}?)"
    return f"unknown key {key!r}; allowed keys: {', '.join(known)}"


def _value_problem(
    document: YamlDocument, validator: Draft202012Validator, error: ValidationError, pointer: Pointer
) -> Problem:
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    at = _position(document, pointer)
    if keyword == "type":
        reason = _type_reason(validator, error, pointer)
    elif keyword == "const":
        reason = f"must be {json.dumps(expected)}, got {describe(instance)}"
    elif keyword == "minLength":
        reason = "must not be empty" if expected == 1 else f"must have at least {expected} characters"
    elif keyword == "maxLength":
        reason = f"must have at most {expected} characters, not {len(instance)}"
    elif keyword == "pattern":
        reason = error.schema.get("patternErrorMessage") or f"must match the pattern {expected!r}"
    elif keyword == "uniqueItems":
        first, again = _first_repeat(instance)
        pointer = (*pointer, again)
        earlier = document.values.get((*pointer[:-1], first), at)
        at = _position(document, pointer)
        reason = f"{describe_short(instance[again])} is listed twice; first on line {earlier.line}"
    else:
        reason = error.message
    return _problem(document, at, pointer, reason)


def _type_reason(validator: Draft202012Validator, error: ValidationError, pointer: Pointer) -> str:
    instance = error.instance
    wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    if pointer == ():
        if instance is None:
            return "the manifest is empty; it needs a 'users' list"
        return f"the manifest must be a mapping with a 'users' list, got {kind_of(instance)}"
    if instance is None and "string" in wanted:
        # An empty value where text belongs reads like an empty string: say
        # what the schema says about "" (e.g. "remove the key to leave it unset").
        as_empty = sorted(validator.evolve(schema=error.schema).iter_errors(""), key=_rank)
        if as_empty and as_empty[0].validator == "pattern":
            return as_empty[0].schema.get("patternErrorMessage") or "must not be empty"
        return "must not be empty"
    reason = f"must be {' or '.join(TYPE_WORDS.get(name, name) for name in wanted)}, got {describe(instance)}"
    if "string" in wanted and isinstance(instance, (bool, int, float, datetime.date)):
        reason += "; put it in quotes"
    return reason


def _first_repeat(items: list[Any]) -> tuple[int, int]:
    """Indexes of the first item that is repeated and of its first repeat."""
    for again, item in enumerate(items):
        for first in range(again):
            if type(items[first]) is type(item) and items[first] == item:
                return first, again
    return 0, 0  # jsonschema reported a repeat that strict comparison does not see


def describe(value: Any) -> str:
    """A value as a reader would name it: ``the number 12``, ``a list``."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {describe_short(value)}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "an unsupported value"


def kind_of(value: Any) -> str:
    """What kind of value ``value`` is, without any of its content: ``a string``."""
    kinds = [(bool, "true or false"), ((int, float), "a number"), (str, "a string"), (datetime.date, "a date")]
    kinds += [(list, "a list"), (dict, "a mapping")]
    if value is None:
        return "an empty value"
    return next((word for kind, word in kinds if isinstance(value, kind)), "an unsupported value")


def describe_short(value: Any) -> str:
    """``repr`` of a value, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= LONGEST_QUOTED_VALUE else text[: LONGEST_QUOTED_VALUE - 3] + "..."


def _position(document: YamlDocument, pointer: Pointer) -> Position:
    """Where ``pointer``'s value is, or else its nearest enclosing value."""
    for size in range(len(pointer), -1, -1):
        at = document.values.get(pointer[:size])
        if at is not None:
            return at
    return Position(1, 1)


def _problem(document: YamlDocument, at: Position, pointer: Pointer, reason: str) -> Problem:
    return Problem(document.path, at.line, at.column, format_pointer(pointer), reason)
