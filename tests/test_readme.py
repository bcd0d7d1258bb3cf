"""The README tells the truth: its sample manifest validates, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from providers.manifest import parse_manifest

README = Path(__file__).resolve().parent.parent / "README.md"


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_sample_manifest_validates():
    samples = [block for block in yaml_blocks() if block.lstrip().startswith("# yaml-language-server")]
    assert samples, "the README has no sample manifest"
    for sample in samples:
        manifest = parse_manifest(sample, "README.md")
        assert manifest.users


def test_readme_shows_the_two_commands_and_make_knows_them():
    text = README.read_text(encoding="utf-8")
    makefile = (README.parent / "Makefile").read_text(encoding="utf-8")
    for target in ("up", "test"):
        assert f"make {target}" in text
        assert re.search(rf"^{target}:", makefile, flags=re.M)
