"""The manifest path of a stack, read without Pulumi (review.stack_config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from review.stack_config import StackConfigError, manifest_path, manifest_paths

REPO = Path(__file__).resolve().parent.parent
PROJECT = "name: alloy\nruntime: python\nconfig:\n  manifest:\n    type: string\n    default: {default}\n"


@pytest.fixture
def project(tmp_path: Path):
    def make(default: str = "users.yaml", **stacks: str) -> Path:
        (tmp_path / "Pulumi.yaml").write_text(PROJECT.format(default=default), encoding="utf-8")
        for name, text in stacks.items():
            (tmp_path / f"Pulumi.{name}.yaml").write_text(text, encoding="utf-8")
        return tmp_path
    return make


@pytest.mark.parametrize(
    ("default", "stacks", "stack", "expected"),
    [
        pytest.param("users.yaml", {}, "prod", "users.yaml", id="no-stack-file"),
        pytest.param("users.yaml", {"prod": "config:\n  alloy:baseUrl: x\n"}, "prod", "users.yaml",
                     id="stack-without-manifest"),
        pytest.param("users.yaml", {"prod": "config:\n  alloy:manifest: teams/ops.yaml\n"}, "prod",
                     "teams/ops.yaml", id="stack-setting"),
        pytest.param("users.yaml", {"prod": "config:\n  alloy:manifest: ./a/../b.yaml\n"}, "acme/prod",
                     "b.yaml", id="org-qualified-stack-and-normalised"),
        pytest.param("people.yaml", {"dev": "config:\n  alloy:manifest: dev.yaml\n"}, "prod", "people.yaml",
                     id="other-stacks-do-not-count"),
        pytest.param("users.yaml", {"prod": ""}, "prod", "users.yaml", id="empty-stack-file"),
    ],
)
def test_manifest_path(project, default, stacks, stack, expected):
    assert manifest_path(project(default, **stacks), stack) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("../outside.yaml", id="parent"),
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("{secure: abc}", id="secret-value"),
        pytest.param("''", id="empty"),
    ],
)
def test_a_path_outside_the_project_is_refused(project, value):
    with pytest.raises(StackConfigError, match="alloy:manifest"):
        manifest_path(project(prod=f"config:\n  alloy:manifest: {value}\n"), "prod")


def test_every_manifest_any_stack_names(project):
    folder = project(prod="config:\n  alloy:manifest: teams/ops.yaml\n", dev="config: {}\n")
    assert manifest_paths(folder) == ["teams/ops.yaml", "users.yaml"]


def test_this_project_reads_users_yaml():
    assert manifest_path(REPO, "prod") == "users.yaml"
