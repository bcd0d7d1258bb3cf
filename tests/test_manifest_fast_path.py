"""The libyaml fast path of ``yaml_reader`` changes nothing but speed: every
text gives the same ``Manifest`` (lines included) or the same problems as
the pure ruamel parser."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.manifest import Manifest, ManifestError, parse_manifest
from providers.manifest import yaml_reader
from tests.test_manifest import BAD, VALID, mutated_manifest, yaml_like_text
from tests.test_manifest_fmt import EXAMPLES, written_manifest

pytestmark = pytest.mark.skipif(not yaml_reader.FAST_PARSER_AVAILABLE, reason="PyYAML's libyaml binding is missing")


def outcome(text: str) -> Manifest | str:
    try:
        return parse_manifest(text)
    except ManifestError as invalid:
        return str(invalid)


def both(text: str) -> tuple[Manifest | str, Manifest | str]:
    fast = outcome(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yaml_reader, "_libyaml", None)
        pure = outcome(text)
    return fast, pure


def texts_of(params: list) -> list:  # type: ignore[type-arg]
    return [pytest.param(param.values[0], id=param.id) for param in params]


@pytest.mark.parametrize("text", texts_of(BAD) + texts_of(VALID) + texts_of(EXAMPLES))
def test_fast_and_pure_agree_on_the_examples(text: str) -> None:
    fast, pure = both(text)
    assert fast == pure


EDGES = [
    pytest.param("%YAML 1.1\n---\nusers:\n  - username: ada\n    protect: yes\n", id="yaml-1.1-directive"),
    pytest.param("%TAG !x! tag:example.com,2000:\n---\nusers: []\n", id="tag-directive"),
    pytest.param('users:\n  - username: "a\\/b"\n', id="escaped-slash"),
    pytest.param("users:\n  - username: a\tb\n", id="tab-in-plain-scalar"),
    pytest.param("users:\n  - username: ada\x85  - username: bob\n", id="next-line-character"),
    pytest.param("users:\n  - username: ada\u2028  - username: bob\n", id="line-separator"),
    pytest.param("users:\n  - username: " + "a" * 2000 + "\n", id="long-value"),
    pytest.param("users: []\n" + "k" * 1100 + ": v\n", id="long-implicit-key"),
    pytest.param("users:\n  - username: ada\n...\n", id="document-end"),
    pytest.param("--- \nallowEmpty: true\nusers: []\n", id="document-start"),
    pytest.param("users:\n  - username: 'it''s'\n", id="single-quote-escape"),
    pytest.param('users:\n  - username: "\\x41\\u0042\\U00000043"\n', id="escapes"),
    pytest.param('users:\n  - username: "a\\\n    b"\n', id="escaped-line-break"),
    pytest.param("users:\n  - username: >-\n      folded\n      text\n", id="folded"),
    pytest.param("users:\n  - username: ada\n    fullName: 'multi\n      line'\n", id="multi-line-quoted"),
    pytest.param("users:\n  - username: ada\n    fullName: multi\n      line plain\n", id="multi-line-plain"),
    pytest.param("users:\n  - ? username\n    : ada\n", id="explicit-key"),
    pytest.param("users:\n- username: ada\n  previousUsernames:\n  - x\n", id="indentless"),
    pytest.param("users: !!seq\n  - !!map {username: !!str ada}\n", id="explicit-standard-tags"),
    pytest.param("users:\r\n  - username: ada\r  - username: bob\n", id="mixed-line-ends"),
    pytest.param("users:\n  -\n", id="empty-item"),
    pytest.param("users:\n  - username: ada\n    previousUsernames:\n      -\n", id="empty-previous"),
    pytest.param("users:\n  - &a {username: ada}\n  - *a\n", id="aliased-entry"),
    pytest.param("users:\n  - username: ada\n    fullName: \"\\L\"\n", id="escaped-line-separator"),
    pytest.param("users:\n  - username: ada\n# end\n\n\n", id="trailing-comment"),
    pytest.param("users:\n  - username: \"ada\\u200b\"\n  - username: ada\n", id="invisible"),
]


@pytest.mark.parametrize("text", EDGES)
def test_fast_and_pure_agree_on_edge_cases(text: str) -> None:
    fast, pure = both(text)
    assert fast == pure


def test_a_clean_text_takes_the_fast_path() -> None:
    assert yaml_reader.read_yaml("users:\n  - username: ada\n", "users.yaml").fast
    assert not yaml_reader.read_yaml("%YAML 1.1\n---\nusers: []\n", "users.yaml").fast
    assert not yaml_reader.read_yaml("users: [\n", "users.yaml").fast


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(written_manifest(), mutated_manifest(), yaml_like_text, st.text(max_size=60)))
def test_fast_and_pure_agree_on_any_text(text: str) -> None:
    fast, pure = both(text)
    assert fast == pure
