"""The workflows' helpers (review.github): the pull request's manifest is
fetched as data, the plan decision, and the plan comment's note."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from review.github import (
    MAX_FILES_LISTED_BY_API,
    Refused,
    annotate_plan,
    fetch_manifest,
    main,
    read_json_stream,
    relevant_changes,
)

MANIFEST = "users:\n  - username: ada@example.com\n"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def head(tmp_path: Path) -> tuple[Path, str]:
    """A repository whose one commit holds a manifest, a symlink, a submodule,
    a folder and an oversized file: ``(repo, commit)``."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "users.yaml").write_text(MANIFEST, encoding="utf-8")
    (repo / "teams").mkdir()
    (repo / "teams" / "ops.yaml").write_text(MANIFEST, encoding="utf-8")
    (repo / "big.yaml").write_text("#" * 2048, encoding="utf-8")
    os.symlink("/etc/passwd", repo / "link.yaml")
    git(repo, "add", ".")
    # A submodule entry (mode 160000) without cloning anything.
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},sub.yaml")
    git(repo, "commit", "-q", "-m", "pr")
    return repo, git(repo, "rev-parse", "HEAD").strip()


def test_a_regular_file_is_written_as_data(head, tmp_path):
    repo, commit = head
    out = tmp_path / "base" / "users.yaml"
    assert fetch_manifest(commit, "users.yaml", out, repo=str(repo)) == len(MANIFEST)
    assert out.read_text(encoding="utf-8") == MANIFEST


def test_a_symlink_in_the_base_checkout_is_replaced_not_followed(head, tmp_path):
    repo, commit = head
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    out = tmp_path / "users.yaml"
    os.symlink(victim, out)
    fetch_manifest(commit, "teams/ops.yaml", out, repo=str(repo))
    assert victim.read_text(encoding="utf-8") == "keep" and not out.is_symlink()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("link.yaml", "is a symlink", id="symlink-blob"),
        pytest.param("sub.yaml", "is a submodule", id="submodule"),
        pytest.param("teams", "is a folder", id="folder"),
        pytest.param("missing.yaml", "does not exist", id="missing"),
        pytest.param("big.yaml", "more than the limit", id="too-large"),
        pytest.param("../users.yaml", "inside the repository", id="parent-folder"),
        pytest.param("/etc/passwd", "inside the repository", id="absolute"),
        pytest.param(".git/config", "inside the repository", id="git-folder"),
        pytest.param("link.yaml/../users.yaml", None, id="normalised-first"),
    ],
)
def test_anything_but_a_small_regular_file_is_refused(head, tmp_path, path, message):
    repo, commit = head
    out = tmp_path / "out.yaml"
    if message is None:
        fetch_manifest(commit, path, out, repo=str(repo), max_bytes=1024)
        assert out.read_text(encoding="utf-8") == MANIFEST
        return
    with pytest.raises(Refused, match=message):
        fetch_manifest(commit, path, out, repo=str(repo), max_bytes=1024)
    assert not out.exists()


def test_the_command_refuses_a_symlink_with_exit_1(head, tmp_path):
    repo, commit = head
    result = subprocess.run(
        [sys.executable, "-m", "review.github", "fetch-manifest", "--commit", commit, "--path", "link.yaml",
         "--output", str(tmp_path / "out.yaml"), "--repo", str(repo)],
        cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True,
    )
    assert result.returncode == 1 and "is a symlink, not a regular file" in result.stderr
    assert not (tmp_path / "out.yaml").exists()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(["users.yaml"], ["users.yaml"], id="manifest"),
        pytest.param(["README.md", "docs/x.md"], [], id="docs-only"),
        pytest.param(["Pulumi.prod.yaml"], ["Pulumi.prod.yaml"], id="stack-config"),
        pytest.param(["providers/alloy/client.py"], ["providers/alloy/client.py"], id="code"),
        pytest.param(["teams/users.yaml"], [], id="other-yaml-is-not-the-manifest"),
        pytest.param([".github/workflows/users-plan.yml"], [".github/workflows/users-plan.yml"], id="workflow"),
    ],
)
def test_what_needs_a_plan(files, expected):
    assert relevant_changes(files, "users.yaml") == expected


def test_a_file_list_cut_short_by_the_api_needs_a_plan():
    files = [f"docs/{n}.md" for n in range(MAX_FILES_LISTED_BY_API)]
    assert relevant_changes(files, "users.yaml")


def test_the_note_keeps_the_marker_first_and_lists_the_other_files():
    plan = "<!-- alloy-users-plan stack=prod -->\n### Alloy users plan for stack `prod`\n\n**Plan: 1 to create.**\n"
    out = annotate_plan(plan, ["users.yaml", "providers/a`b.py", "Pulumi.prod.yaml"], "users.yaml", "c" * 40)
    lines = out.split("\n")
    assert lines[:2] == plan.split("\n")[:2]
    assert "base branch's code and config (`cccccccccccc`)" in out and "`users.yaml`" in out
    assert "2 other files" in out and "`Pulumi.prod.yaml`, `providers/a'b.py`" in out
    assert out.endswith("**Plan: 1 to create.**\n")


def test_the_note_without_other_files_says_only_what_the_plan_used():
    out = annotate_plan("<!-- m -->\n### t\n", ["users.yaml"], "users.yaml", "c" * 40)
    assert "other file" not in out and "only the manifest `users.yaml`" in out


def test_gh_paginate_output_is_one_list():
    assert read_json_stream('["a","b"]\n["c"]\n') == ["a", "b", "c"]
    assert read_json_stream("") == []


def test_the_relevant_command_prints_true_or_false(tmp_path, capsys):
    files = tmp_path / "files.json"
    files.write_text(json.dumps(["README.md"]) + json.dumps(["users.yaml"]), encoding="utf-8")
    assert main(["relevant", "--files", str(files), "--manifest", "users.yaml"]) == 0
    assert capsys.readouterr().out == "true\n"
    files.write_text(json.dumps(["README.md"]), encoding="utf-8")
    assert main(["relevant", "--files", str(files), "--manifest", "users.yaml"]) == 0
    assert capsys.readouterr().out == "false\n"
