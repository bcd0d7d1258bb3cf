"""The installable package and the pre-commit hooks, as another repository
uses them: ``pip install`` of this repository into a fresh virtualenv, and
``pre-commit try-repo`` of it from a temporary git repository.

Both work on a copy of this repository's working tree (tracked files and new
files not ignored), committed in a repository of its own: ``try-repo`` of a
repository with uncommitted changes makes a shadow commit of the *tracked*
files only (``git add -u``), so new files would be missing before they are
committed. pip fetches the build backend and the dependencies from the
package index (or its cache); pre-commit keeps its environments in a
temporary ``PRE_COMMIT_HOME``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from providers.manifest.fmt import MODELINE

REPO_ROOT = Path(__file__).resolve().parent.parent
GIT = shutil.which("git")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(GIT is None, reason="git is not installed"),
]

GOOD = "version: 1\nusers:\n  - username: ada@example.com\n    fullName: Ada Lovelace\n"
BAD = 'version: 1\nusers:\n  - username: "ada\\u200b@example.com"\n  - username: ADA@example.com\n'
BAD_PROBLEM = "bad/users.yaml:3:15: users[0].username: contains U+200B ZERO WIDTH SPACE, an invisible character"
MESSY = "users:\n- fullName: Grace Hopper\n  username: grace@example.com\n- username: ada@example.com\nversion: 1\n"
CANONICAL = (
    "version: 1\nusers:\n  - username: ada@example.com\n"
    "  - username: grace@example.com\n    fullName: Grace Hopper\n"
)


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run([GIT or "git", *args], cwd=cwd, env=git_env(), capture_output=True, text=True, check=True)
    return result.stdout


def git_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", **extra)
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = "alloy-users tests"
        env[f"GIT_{role}_EMAIL"] = "tests@example.com"
    return env


def copy_working_tree(destination: Path) -> Path:
    """This repository's working tree as it is (no ``.git``, nothing ignored)."""
    listed = git(REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if not (source.exists() or source.is_symlink()):
            continue  # deleted in the working tree
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return destination


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree, committed in a repository of its own."""
    repo = copy_working_tree(tmp_path_factory.mktemp("alloy-users"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "working tree under test")
    return repo


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def other_repository(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    return root


def try_repo(cwd: Path, hook_repo: Path, home: Path, hook: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook, *args]
    env = git_env(PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


# -- pip install . ------------------------------------------------------------------


def test_the_package_installs_and_checks_from_any_folder(tmp_path: Path, hook_repo: Path) -> None:
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(hook_repo)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "users.yaml").write_text(GOOD, encoding="utf-8")

    def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=elsewhere, capture_output=True, text=True, timeout=120)

    checked = run(python, "-m", "providers.manifest", "check", "users.yaml")
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "users.yaml: 1 user, valid\n", "")
    formatted = run(environment / "bin" / "alloy-users-manifest", "fmt", "--check")
    assert (formatted.returncode, formatted.stdout) == (0, "users.yaml: already formatted\n")
    shipped = run(
        python, "-c",
        "import providers.manifest.schema as s, sys; print(s.SCHEMA_PATH.is_file(), 'pulumi' in sys.modules)",
    )  # fmt: skip
    assert shipped.stdout == "True False\n"
    assert "site-packages" in run(python, "-c", "import providers; print(providers.__file__)").stdout


# -- pre-commit try-repo --------------------------------------------------------------


def test_try_repo_check_hook_fails_a_bad_manifest_and_passes_a_good_one(
    tmp_path: Path, hook_repo: Path, pre_commit_home: Path
) -> None:
    other = other_repository(tmp_path / "other", {"good/users.yaml": GOOD, "bad/users.yaml": BAD})
    result = try_repo(other, hook_repo, pre_commit_home, "alloy-users-check", "--all-files")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert BAD_PROBLEM in lines
    assert "good/users.yaml: 1 user, valid" in lines


def test_the_readme_configuration_runs_both_hooks(tmp_path: Path, hook_repo: Path, pre_commit_home: Path) -> None:
    """The ``.pre-commit-config.yaml`` of the README, ``rev`` a commit SHA;
    the hooks' environment is built once and reused (unlike ``try-repo``)."""
    sha = git(hook_repo, "rev-parse", "HEAD").strip()
    config = (
        f"repos:\n  - repo: {hook_repo}\n    rev: {sha}\n"
        "    hooks:\n      - id: alloy-users-check\n      - id: alloy-users-fmt\n"
    )
    other = other_repository(tmp_path / "other", {".pre-commit-config.yaml": config, "users.yaml": MESSY})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pre_commit", "run", *args, "--all-files"]
        env = git_env(PRE_COMMIT_HOME=str(pre_commit_home), PRE_COMMIT_COLOR="never")
        return subprocess.run(command, cwd=other, env=env, capture_output=True, text=True, timeout=600)

    checked = run("alloy-users-check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = run("alloy-users-fmt")
    assert formatted.returncode == 1, formatted.stdout + formatted.stderr
    assert "files were modified by this hook" in formatted.stdout
    text = (other / "users.yaml").read_text(encoding="utf-8")
    assert text == CANONICAL and MODELINE not in text  # no ./users.schema.json here for it to name
    git(other, "add", "-A")
    again = run("alloy-users-fmt")
    assert again.returncode == 0, again.stdout + again.stderr
