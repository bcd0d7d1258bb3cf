"""The manifest path a stack uses, read from the project's files without
Pulumi and without secrets: ``alloy:manifest`` in ``Pulumi.<stack>.yaml``,
else the default that ``Pulumi.yaml`` declares, else ``users.yaml``.

    python -m review.stack_config manifest --stack prod    the one path of that stack
    python -m review.stack_config manifests                every path any stack file names

The workflows use it to know which file of a pull request is the manifest
(read from the base branch's config only), so no program has to run.
"""

from __future__ import annotations

import argparse
import posixpath
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from providers.alloy.settings import MANIFEST

PROGRAM = "python -m review.stack_config"
PROJECT_FILE = "Pulumi.yaml"
MANIFEST_KEY, DEFAULT_MANIFEST = MANIFEST.name, MANIFEST.default


class StackConfigError(ValueError):
    """A project or stack file that does not say a usable manifest path."""


def stack_file(project_dir: str | Path, stack: str) -> Path:
    """``Pulumi.<name>.yaml`` of ``stack`` (``org/prod`` and ``org/project/prod`` name ``prod``)."""
    project = _project(project_dir)
    name = stack.strip().rsplit("/", 1)[-1]
    if not name or name in (".", "..") or "\\" in name:
        raise StackConfigError(f"{stack!r} is not a stack name")
    folder = Path(project_dir) / str(project.get("stackConfigDir") or ".")
    return folder / f"Pulumi.{name}.yaml"


def manifest_path(project_dir: str | Path, stack: str) -> str:
    """The manifest of ``stack``: its ``alloy:manifest``, else the project default."""
    project = _project(project_dir)
    path = stack_file(project_dir, stack)
    value = _stack_value(_load(path), path) if path.exists() else None
    return _relative(value if value is not None else _default(project), path if value is not None else None)


def manifest_paths(project_dir: str | Path) -> list[str]:
    """The project default and every path that a ``Pulumi.*.yaml`` names, sorted."""
    project = _project(project_dir)
    folder = Path(project_dir) / str(project.get("stackConfigDir") or ".")
    paths = {_relative(_default(project), None)}
    for path in sorted(folder.glob("Pulumi.*.yaml")):
        value = _stack_value(_load(path), path)
        if value is not None:
            paths.add(_relative(value, path))
    return sorted(paths)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print the manifest path(s), one a line; 1 when the files say none usable."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-dir", default=".", metavar="DIR")
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("manifest", help="the manifest path of one stack")
    one.add_argument("--stack", required=True)
    commands.add_parser("manifests", help="every manifest path the stack files name")
    args = parser.parse_args(argv)
    try:
        if args.command == "manifest":
            print(manifest_path(args.project_dir, args.stack))
        else:
            print("\n".join(manifest_paths(args.project_dir)))
    except StackConfigError as problem:
        print(f"{PROGRAM}: {problem}", file=sys.stderr)
        return 1
    return 0


def _project(project_dir: str | Path) -> dict[str, Any]:
    document = _load(Path(project_dir) / PROJECT_FILE)
    if not isinstance(document, dict):
        raise StackConfigError(f"{PROJECT_FILE} is not a mapping")
    return document


def _default(project: dict[str, Any]) -> Any:
    config = project.get("config") or {}
    name = str(project.get("name") or "")
    for key in (MANIFEST_KEY, f"{name}:{MANIFEST_KEY}"):
        entry = config.get(key) if isinstance(config, dict) else None
        if isinstance(entry, dict) and "default" in entry:
            return entry["default"]
        if entry is not None and not isinstance(entry, dict):
            return entry
    return DEFAULT_MANIFEST


def _stack_value(document: Any, path: Path) -> Any:
    if document is None:
        return None
    if not isinstance(document, dict):
        raise StackConfigError(f"{path.name} is not a mapping")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackConfigError(f"{path.name}: config is not a mapping")
    return config.get(f"alloy:{MANIFEST_KEY}")


def _relative(value: Any, source: Optional[Path]) -> str:
    where = source.name if source else PROJECT_FILE
    if not isinstance(value, str) or not value.strip():
        raise StackConfigError(f"{where}: alloy:{MANIFEST_KEY} must be a plain path, got {value!r}")
    normal = posixpath.normpath(value.strip())
    if value.startswith("/") or "\\" in value or normal == ".." or normal.startswith("../") or normal == ".":
        raise StackConfigError(f"{where}: alloy:{MANIFEST_KEY} {value!r} must be a path inside the project")
    return normal


def _load(path: Path) -> Any:
    try:
        return YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackConfigError(f"{path} does not exist") from None
    except (OSError, YAMLError) as problem:
        raise StackConfigError(f"{path.name}: {problem}") from None


if __name__ == "__main__":
    sys.exit(main())
