"""A file that is not a manifest (a dotenv file with secrets, ``/etc/passwd``)
named by ``alloy:manifest`` by mistake: its problems, which reach the plan
comment of a pull request, never quote any of its text."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.manifest import ManifestError, load_manifest, parse_manifest

# What must never appear in a message about these files.
CONTENT = ("sk-secret", "API_KEY", "hunter2", "root", "daemon", "nologin", "aws_secret", "vault", "password")

PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "sk-secret-123:x:1000:1000:Secret User,,,:/home/sk-secret-123:/bin/bash\n"
)
NOT_A_MAPPING = "users.yaml:1:1: the manifest must be a mapping with a 'users' list, got {}"
NOT_A_MANIFEST = (
    "users.yaml:1:1: not a manifest: the top-level mapping has none of the keys version, allowEmpty, users "
    "(its content is not shown)"
)

FILES = [
    pytest.param("API_KEY=sk-secret-123\nDB_PASSWORD=hunter2\n", [NOT_A_MAPPING.format("a string")], id="dotenv"),
    pytest.param('export API_KEY="sk-secret-123"\n', [NOT_A_MAPPING.format("a string")], id="dotenv-export"),
    pytest.param(
        "# secrets\nAPI_KEY=sk-secret-123\n\n",
        [NOT_A_MAPPING.format("a string").replace(":1:1:", ":2:1:")],
        id="dotenv-comment",
    ),
    pytest.param(PASSWD, [NOT_A_MAPPING.format("a string")], id="etc-passwd"),
    pytest.param("API_KEY: sk-secret-123\npassword: hunter2\n", [NOT_A_MANIFEST], id="yaml-secrets"),
    pytest.param('{"API_KEY": "sk-secret-123"}', [NOT_A_MANIFEST], id="json-secrets"),
    pytest.param("- API_KEY=sk-secret-123\n", [NOT_A_MAPPING.format("a list")], id="list"),
    pytest.param("12345\n", [NOT_A_MAPPING.format("a number")], id="number"),
    pytest.param(
        "API_KEY: !!int sk-secret-123\n",
        [NOT_A_MANIFEST, "users.yaml:1:10: cannot read a value as its YAML tag says"],
        id="bad-explicit-tag",
    ),
    pytest.param(
        "API_KEY: !vault sk-secret-123\n",
        [NOT_A_MANIFEST, "users.yaml:1:10: a YAML tag is not allowed here (only plain values)"],
        id="custom-tag",
    ),
    pytest.param(
        "!sk-secret-123 API_KEY\n",
        ["users.yaml:1:1: a YAML tag is not allowed here (only plain values)"],
        id="tag-at-the-top",
    ),
    pytest.param(
        "API_KEY: sk-secret-123\nAPI_KEY: sk-secret-456\n",
        [NOT_A_MANIFEST, "users.yaml:2:1: duplicate key; first on line 1"],
        id="duplicate-key",
    ),
    pytest.param(
        "12345: sk-secret-123\n", ["users.yaml:1:1: a key is not a string", NOT_A_MANIFEST], id="non-string-key"
    ),
    pytest.param("API_KEY: *sk-secret-123\n", ["users.yaml:1:10: invalid YAML: found undefined alias"], id="alias"),
    pytest.param(
        'API_KEY: "sk-secret-123\\q"\n',
        ["users.yaml:1:25: invalid YAML: found unknown escape character (while scanning a double-quoted scalar "
         "that starts on line 1)"],
        id="bad-escape",
    ),  # fmt: skip
    pytest.param(
        "API_KEY: sk-secret-123: x\n",
        [
            "users.yaml:1:23: invalid YAML: mapping values are not allowed here; "
            "check the indentation, or quote a value that contains ': '"
        ],
        id="colon-in-value",
    ),
    pytest.param(
        "[default]\naws_secret_access_key = sk-secret-123\n",
        ["users.yaml:2:1: invalid YAML: expected '<document start>', but found ('<scalar>',)"],
        id="ini-file",
    ),
    pytest.param(
        "\tAPI_KEY=sk-secret-123\n",
        [
            "users.yaml:1:1: invalid YAML: found character '\\t' that cannot start any token "
            "(while scanning for the next token); indent with spaces, not tabs"
        ],
        id="tab",
    ),
    pytest.param(
        "API_KEY: sk-secret-123\n---\nusers: []\n",
        [NOT_A_MANIFEST, "users.yaml:3:1: a second YAML document starts here; the manifest must be a single document"],
        id="two-documents",
    ),
]


@pytest.mark.parametrize(("text", "expected"), FILES)
def test_problems_of_a_file_that_is_not_a_manifest_quote_none_of_it(text: str, expected: list[str]) -> None:
    with pytest.raises(ManifestError) as raised:
        parse_manifest(text)
    message = str(raised.value)
    assert message.splitlines() == expected
    assert not [word for word in CONTENT if word.lower() in message.lower()]
    assert all(not problem.pointer for problem in raised.value.problems)


@pytest.mark.parametrize("text", ["API_KEY=sk-secret-123\n", PASSWD], ids=["dotenv", "etc-passwd"])
def test_loading_such_a_file_quotes_none_of_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    assert str(raised.value) == f"{path}:1:1: the manifest must be a mapping with a 'users' list, got a string"


def test_a_manifest_still_gets_its_keys_and_values_quoted() -> None:
    text = "version: 1\nusers:\n  - username: ada\n    password: hunter2\n  - username: !!int grace\n"
    with pytest.raises(ManifestError) as raised:
        parse_manifest(text)
    assert str(raised.value).splitlines() == [
        "users.yaml:4:5: users[0]: unknown key 'password'; "
        "allowed keys: username, fullName, previousUsernames, protect, retainOnDelete, deleteAdopted",
        "users.yaml:5:15: users[1].username: cannot read 'grace' as !!int",
    ]
