"""Drive the real ``pulumi`` CLI on a private copy of the project.

Each ``PulumiProject`` is a temporary folder holding the project's program
files (copied, so stack config files land there and not in the repo), a
symlink to the repo's ``.venv``, its own file state backend, its own
``PULUMI_HOME`` and ``HOME``, and an environment with every ``PULUMI_*`` and
``ALLOY_*`` variable of the developer removed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Mapping, Sequence

from scripts.sandbox import PASSPHRASE, PROGRAM_DIRS, PROGRAM_FILES, REPO, copy_program, isolated_env

__all__ = ["PASSPHRASE", "PROGRAM_DIRS", "PROGRAM_FILES", "REPO", "PulumiProject", "isolated_env"]

DEFAULT_TIMEOUT_S = 600

class PulumiProject:
    """A private copy of the project with one selected stack."""

    def __init__(self, root: Path, stack: str = "test", env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.stack = stack
        self.work = root / "project"
        self.home = root / "home"
        self.state = root / "state"
        for folder in (self.work, self.home, self.state):
            folder.mkdir(parents=True, exist_ok=True)
        copy_program(self.work)
        self.env = isolated_env(self.home, self.state, env)
        self.run("stack", "init", stack)

    @property
    def manifest_path(self) -> Path:
        return self.work / "users.yaml"

    def write_manifest(self, text: str) -> Path:
        self.manifest_path.write_text(text, encoding="utf-8")
        return self.manifest_path

    def run(
        self,
        *args: str,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``pulumi ARGS`` in the project; raise with its output if ``check`` and it fails."""
        full_env = dict(self.env, **(env or {}))
        result = subprocess.run(
            ["pulumi", "--non-interactive", "--color", "never", *args],
            cwd=self.work, env=full_env, capture_output=True, text=True, timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} exited {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            )
        return result

    def config_set(self, key: str, value: str, *, secret: bool = False) -> None:
        self.run("config", "set", *(["--secret"] if secret else []), key, value)

    def up(self, *extra: str, check: bool = True, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("up", "--yes", "--skip-preview", *extra, check=check, env=env)

    def preview(self, *extra: str, check: bool = True, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("preview", *extra, check=check, env=env)

    def preview_json(self, *extra: str) -> dict[str, Any]:
        result = self.run("preview", "--json", *extra)
        return json.loads(result.stdout)

    def refresh(self, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("refresh", "--yes", "--skip-preview", *extra, check=check)

    def destroy(self, *extra: str, check: bool = True, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("destroy", "--yes", "--skip-preview", *extra, check=check, env=env)

    def output(self, name: str) -> Any:
        result = self.run("stack", "output", name, "--json")
        return json.loads(result.stdout)

    def export_state(self) -> dict[str, Any]:
        return json.loads(self.run("stack", "export").stdout)

    def state_files(self) -> Sequence[Path]:
        """Every file of the state backend (checkpoints, backups, history)."""
        return [path for path in self.state.rglob("*") if path.is_file()]

    def resource_names(self) -> list[str]:
        """The logical names (usernames) of the AlloyUser resources in state."""
        return [resource["urn"].split("::")[-1] for resource in self.resources()]

    def resources(self, type_suffix: str = "alloy:User") -> list[dict[str, Any]]:
        """The AlloyUser resources of the exported state."""
        deployment = self.export_state()["deployment"]
        return [r for r in deployment.get("resources", []) if r["type"].endswith(type_suffix)]
