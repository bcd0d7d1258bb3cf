"""The scale benchmark's peer: OpenTofu with a plain terraform-plugin-framework
provider of the same API (``bench/peer/provider``), on the same emulator.

``make bench-peer`` (``scripts/build_peer.sh``) builds both into
``.tools/peer/bin``: ``tofu`` (OpenTofu ``TOFU_VERSION``, from its Go module)
and ``terraform-provider-alloy``. ``ALLOY_PEER_CLI`` names another CLI
binary (e.g. ``/usr/local/bin/terraform``); the result records which ran.

``run_peer`` declares N ``alloy_user`` resources in a generated
``main.tf.json`` (one resource block, ``for_each`` over a ``locals`` map
of username -> fullName, the workload of ``bench.workload``), and times, in
a fresh work dir, with the CLI config's ``dev_overrides`` pointing at the
provider (no registry, no ``init`` on the local backend; on the s3 backend
``init`` of a configuration holding only the backend block, so that it looks
up no provider):

- ``create``: ``apply -auto-approve -parallelism=P`` (N POSTs);
- ``noop-plan``: ``plan -detailed-exitcode -parallelism=P``, which must exit
  0 (it refreshes: N GETs);
- ``update``: ``update_share`` of the fullNames changed, then ``apply``
  (N GETs of the refresh, then the PUTs);
- ``destroy``: ``destroy -auto-approve -parallelism=P`` (N DELETEs), after
  which the emulator must hold no user.

The API calls of each step are checked through the emulator's admin API; a
wrong count raises ``BenchRunError``.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

from bench.defaults import REPO, RUN_TIMEOUT_S
from bench.stacks import BenchRunError, run_logged
from bench.workload import BenchUser, changed_indices, make_users, with_changed_names

__all__ = ["CLI_ENV", "Missing", "main_tf_json", "missing_binaries", "run_peer", "template_literal"]

TOFU_VERSION = "1.12.6"
BIN_DIR = REPO / ".tools" / "peer" / "bin"
TOFU = BIN_DIR / "tofu"
PROVIDER_BINARY = BIN_DIR / "terraform-provider-alloy"
# The provider's source address (bench/peer/provider/main.go): the CLI config's
# dev_overrides map it to BIN_DIR, so nothing is fetched from a registry.
PROVIDER_SOURCE = "alloy.local/bench/alloy"
# Another CLI binary to run instead of the built tofu (a path, or a name on PATH).
CLI_ENV = "ALLOY_PEER_CLI"
BUILD_HINT = "run make bench-peer"
# Alloy documents at most 50 users a page of GET /users (as bench.scale sets it).
LIST_PAGE_SIZE = 50
S3_REGION = "us-east-1"
# Inherited variables dropped from the CLI's environment: the developer's
# Terraform/OpenTofu, AWS, Alloy and Pulumi settings.
DROPPED_ENV_PREFIXES = ("TF_", "AWS_", "ALLOY_", "PULUMI_", "CHECKPOINT_")

CREATE, NOOP_PLAN, UPDATE, DESTROY = "create", "noop-plan", "update", "destroy"
POST, GET_ONE, PUT, DELETE = "POST /users", "GET /users/{userId}", "PUT /users/{userId}", "DELETE /users/{userId}"


class Missing(list[str]):
    """The binaries that are not built: a list of names (``", ".join`` gives
    them), whose ``str`` is the one-line reason."""

    def __str__(self) -> str:
        return f"{', '.join(self)} not built: {BUILD_HINT}"


def cli_path() -> Optional[Path]:
    """The CLI binary to run: ``$ALLOY_PEER_CLI``, else the built tofu; None if neither exists."""
    chosen = os.environ.get(CLI_ENV, "").strip()
    if chosen:
        found = shutil.which(chosen)
        return Path(found) if found else None
    return TOFU if _executable(TOFU) else None


def missing_binaries() -> Optional[Missing]:
    """None when the peer can run; else the missing binaries (see ``Missing``)."""
    missing = Missing()
    if cli_path() is None:
        missing.append(os.environ.get(CLI_ENV, "").strip() or "tofu")
    if not _executable(PROVIDER_BINARY):
        missing.append(PROVIDER_BINARY.name)
    return missing or None


@functools.lru_cache(maxsize=None)
def cli_version(cli: Path) -> str:
    """``"OpenTofu v1.12.6"`` or ``"Terraform v1.11.4"``: which CLI ``cli`` is."""
    env = {**_base_env(), "CHECKPOINT_DISABLE": "1"}
    done = subprocess.run([str(cli), "version", "-json"], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    try:
        version = json.loads(done.stdout)["terraform_version"]
    except (ValueError, KeyError, TypeError):
        raise BenchRunError(f"{cli} version -json exited {done.returncode}: {done.stdout[-500:]}{done.stderr[-500:]}")
    name = "OpenTofu" if "tofu" in cli.name else "Terraform"
    return f"{name} v{version}"


def template_literal(text: str) -> str:
    """``text`` as a literal in a ``.tf.json`` string (``${`` and ``%{`` would start a template)."""
    return text.replace("${", "$${").replace("%{", "%%{")


def main_tf_json(users: Sequence[BenchUser], backend: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """The configuration of ``users``: one ``alloy_user`` resource ``for_each`` over a
    ``locals`` map username -> fullName; ``backend`` is an ``{"s3": {...}}`` block
    (None: the default local backend). The provider reads its URL and key from the
    environment (``ALLOY_BASE_URL``, ``ALLOY_API_KEY``), so the key is in no file."""
    terraform: dict[str, Any] = {"required_providers": {"alloy": {"source": PROVIDER_SOURCE}}}
    if backend:
        terraform["backend"] = dict(backend)
    return {
        "terraform": terraform,
        "provider": {"alloy": {}},
        "locals": {"users": {template_literal(u.username): template_literal(u.full_name) for u in users}},
        "resource": {"alloy_user": {"users": {
            "for_each": "${local.users}",
            "username": "${each.key}",
            "full_name": "${each.value}",
        }}},
    }


def s3_backend(s3: Any, key: str) -> dict[str, Any]:
    """The s3 backend block of a ``bench.moto.MotoServer``, with S3's own lock file."""
    return {"s3": {
        "bucket": s3.bucket,
        "key": key,
        "region": S3_REGION,
        "endpoints": {"s3": s3.endpoint},
        "use_path_style": True,
        "use_lockfile": True,
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
        "skip_s3_checksum": True,
    }}


def cli_config(plugin_dir: Path) -> str:
    """The CLI configuration: the provider from ``plugin_dir``, nothing from a registry."""
    return ("disable_checkpoint = true\n"
            "provider_installation {\n"
            "  dev_overrides {\n"
            f"    {json.dumps(PROVIDER_SOURCE)} = {json.dumps(str(plugin_dir))}\n"
            "  }\n"
            "}\n")


def run_peer(emulator: Any, n: int, *, backend: str = "file", parallelism: int = 10, latency_ms: float = 0.0,
             s3: Any = None, work_dir: Path, update_share: float = 0.01) -> dict[str, Any]:
    """Create, no-op plan, update and destroy ``n`` users with the peer; the wall
    seconds of each (floats, keys ``create``, ``noop-plan``, ``update``,
    ``destroy``) and ``cli``, the CLI and version that ran. Resets the emulator
    first (no users, ``latency_ms`` on every request)."""
    missing = missing_binaries()
    if missing:
        raise BenchRunError(f"the peer cannot run: {missing}")
    if backend not in ("file", "s3"):
        raise ValueError(f"unknown backend {backend!r}")
    if backend == "s3" and s3 is None:
        raise ValueError("the s3 backend needs s3= (a bench.moto.MotoServer)")
    cli = cli_path()
    assert cli is not None
    peer = _PeerDir(Path(work_dir), cli, emulator, s3 if backend == "s3" else None)
    users = make_users(n)
    backend_block = s3_backend(s3, f"peer/{peer.root.name}-{secrets.token_hex(4)}/terraform.tfstate") \
        if backend == "s3" else None
    emulator.admin.reset()
    emulator.admin.set_faults(latency_ms=latency_ms, page_size=LIST_PAGE_SIZE)
    flags = ("-input=false", "-no-color", f"-parallelism={parallelism}")
    walls: dict[str, Any] = {"cli": cli_version(cli)}

    if backend_block:
        # `init` of the backend alone: with the provider in the configuration, init
        # would look it up (dev_overrides do not cover init) and fail offline.
        peer.write_json({"terraform": {"backend": backend_block}})
        peer.run("init", "-input=false", "-no-color")
    peer.write(users, backend_block)
    walls[CREATE] = peer.step(CREATE, n, {POST: n}, "apply", "-auto-approve", *flags)
    if len(emulator.admin.users()) != n:
        raise BenchRunError(f"the peer's create at N={n} left {len(emulator.admin.users())} users, not {n}")
    walls[NOOP_PLAN] = peer.step(NOOP_PLAN, n, {POST: 0, PUT: 0, DELETE: 0}, "plan", "-detailed-exitcode", *flags)
    changed = len(changed_indices(n, update_share))
    peer.write(with_changed_names(users, update_share), backend_block)
    walls[UPDATE] = peer.step(UPDATE, n, {POST: 0, PUT: changed, DELETE: 0}, "apply", "-auto-approve", *flags)
    walls[DESTROY] = peer.step(DESTROY, n, {DELETE: n}, "destroy", "-auto-approve", *flags)
    if emulator.admin.users():
        raise BenchRunError(f"{len(emulator.admin.users())} users left in the emulator after the peer's destroy "
                            f"at N={n}")
    return walls


class _PeerDir:
    """A work dir: the configuration, a private home and CLI config, numbered logs."""

    def __init__(self, root: Path, cli: Path, emulator: Any, s3: Any) -> None:
        if root.exists() and any(root.iterdir()):
            raise BenchRunError(f"the peer's work dir {root} is not empty")
        self.root, self.cli, self.emulator = root, cli, emulator
        self.work, self.home, self.logs = root / "config", root / "home", root / "logs"
        for folder in (self.work, self.home, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        config = self.home / "cli.tfrc"
        config.write_text(cli_config(PROVIDER_BINARY.parent), encoding="utf-8")
        self.env = {
            **_base_env(),
            "HOME": str(self.home),
            "TF_CLI_CONFIG_FILE": str(config),
            "TF_DATA_DIR": str(self.work / ".terraform"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "NO_COLOR": "1",
            "ALLOY_BASE_URL": emulator.url,
            "ALLOY_API_KEY": emulator.api_key,
        }
        if s3 is not None:
            self.env.update(s3.aws_env())
            self.env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(self.home / "aws-config"),
                            AWS_SHARED_CREDENTIALS_FILE=str(self.home / "aws-credentials"))
        self._runs = 0

    def write(self, users: Sequence[BenchUser], backend: Optional[Mapping[str, Any]]) -> None:
        self.write_json(main_tf_json(users, backend))

    def write_json(self, config: Mapping[str, Any]) -> None:
        (self.work / "main.tf.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")

    def step(self, name: str, n: int, expected: Mapping[str, int], *args: str) -> float:
        """Run one timed command and check its API calls; its wall seconds."""
        self.emulator.admin.clear_requests()
        wall = self.run(*args)
        calls = {route: count for route, count in self.emulator.admin.counters().items() if count}
        wrong = {route: calls.get(route, 0) for route, count in expected.items() if calls.get(route, 0) != count}
        if wrong:
            raise BenchRunError(f"the peer's {name} at N={n} made {wrong} (expected {dict(expected)}): {calls}")
        return round(wall, 2)

    def run(self, *args: str, timeout_s: float = RUN_TIMEOUT_S) -> float:
        """Run the CLI with ``args`` in the config dir; its wall seconds. Any
        exit but 0 raises (``plan -detailed-exitcode`` exits 2 on changes)."""
        self._runs += 1
        log_path = self.logs / f"{self._runs:02d}-{args[0]}.log"
        wall, _ = run_logged([str(self.cli), *args], cwd=self.work, env=self.env, log_path=log_path,
                             timeout_s=timeout_s)
        return wall


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV_PREFIXES)}


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
