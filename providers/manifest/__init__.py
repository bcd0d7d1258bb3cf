"""The manifest toolkit: read, validate, normalise and format ``users.yaml``.

No Pulumi here; the program, the review tools and the command line
(``python -m providers.manifest check|fmt``) all go through this package.

- ``loader``: the library entry points (``load_manifest``, ``parse_manifest``).
- ``yaml_reader``: safe YAML with a position for every value.
- ``schema``: the shape, checked against ``users.schema.json`` (shipped here).
- ``identity``: ``username_key`` (which usernames are one user: a
  compatibility contract) and the characters a username may not hold.
- ``rules``: what entries must agree on (unique usernames, renames).
- ``problems``: ``file:line:col: pointer: reason`` and ``ManifestError``.
- ``fmt`` and ``cli``: the canonical form and the command line.
"""

from __future__ import annotations

from providers.manifest.identity import username_key
from providers.manifest.loader import (
    DEFAULT_MANIFEST_PATH,
    MAX_MANIFEST_BYTES,
    DesiredUser,
    Manifest,
    load_manifest,
    parse_manifest,
    read_manifest_text,
)
from providers.manifest.problems import ManifestError, Problem

__all__ = [
    "DEFAULT_MANIFEST_PATH",
    "MAX_MANIFEST_BYTES",
    "DesiredUser",
    "Manifest",
    "ManifestError",
    "Problem",
    "load_manifest",
    "parse_manifest",
    "read_manifest_text",
    "username_key",
]
