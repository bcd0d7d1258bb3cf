"""The scale benchmark's peer (``bench.peer``): its generated configuration
always; with the binaries built (``make bench-peer``), a whole N=3 lifecycle
on the file backend and on a moto S3 one."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import peer
from bench.workload import BenchUser, make_users

N = 3
KEYS = {"create", "noop-plan", "update", "destroy"}


def test_main_tf_json_declares_every_user_once_with_for_each():
    users = make_users(3) + [BenchUser("odd@example.com", "Costs ${var.x} and %{ if true }")]
    config = peer.main_tf_json(users)
    assert config["terraform"] == {"required_providers": {"alloy": {"source": peer.PROVIDER_SOURCE}}}
    assert config["provider"] == {"alloy": {}}
    declared = config["locals"]["users"]
    assert list(declared)[:3] == [user.username for user in users[:3]]
    assert declared["bench-user-00001@example.com"] == "Bench User 00001"
    # Literal text, not templates: "${" and "%{" are escaped as the JSON syntax wants.
    assert declared["odd@example.com"] == "Costs $${var.x} and %%{ if true }"
    assert config["resource"] == {"alloy_user": {"users": {
        "for_each": "${local.users}", "username": "${each.key}", "full_name": "${each.value}"}}}
    json.dumps(config)  # JSON-ready


def test_main_tf_json_with_the_s3_backend():
    class Moto:
        bucket, endpoint = "bucket-1", "http://127.0.0.1:9"

    config = peer.main_tf_json(make_users(1), peer.s3_backend(Moto(), "peer/x/terraform.tfstate"))
    s3 = config["terraform"]["backend"]["s3"]
    assert s3["bucket"] == "bucket-1" and s3["key"] == "peer/x/terraform.tfstate"
    assert s3["endpoints"] == {"s3": "http://127.0.0.1:9"}
    assert s3["use_path_style"] and s3["use_lockfile"] and s3["skip_s3_checksum"]
    assert s3["skip_credentials_validation"] and s3["skip_requesting_account_id"]


def test_template_literal_leaves_plain_text_alone():
    assert peer.template_literal("Ada $ Lovelace {x} 100%") == "Ada $ Lovelace {x} 100%"
    assert peer.template_literal("$${") == "$$${"


def test_the_cli_config_overrides_the_provider_and_disables_the_checkpoint(tmp_path: Path):
    text = peer.cli_config(tmp_path)
    assert f'"{peer.PROVIDER_SOURCE}" = "{tmp_path}"' in text
    assert "dev_overrides" in text and "disable_checkpoint = true" in text


def test_missing_binaries_names_them_and_says_how_to_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv(peer.CLI_ENV, str(tmp_path / "no-such-tofu"))
    missing = peer.missing_binaries()
    assert missing is not None and missing[0] == str(tmp_path / "no-such-tofu")
    assert str(missing).endswith("not built: run make bench-peer")
    assert "\n" not in str(missing)


MISSING = peer.missing_binaries()
needs_binaries = pytest.mark.skipif(MISSING is not None, reason=f"bench peer: {MISSING}")


@pytest.fixture(scope="module")
def moto() -> Iterator[object]:
    """``bench.moto.MotoServer``, the AWS variables it exports put back afterwards."""
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("boto3") is None:
        pytest.skip("moto and boto3 are not installed")
    from bench.moto import MotoServer

    saved = {name: os.environ.get(name) for name in MotoServer().aws_env()}
    try:
        with MotoServer() as server:
            yield server
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_lifecycle(walls: dict, emulator) -> None:
    assert KEYS <= set(walls)
    assert all(isinstance(walls[key], float) and walls[key] > 0 for key in KEYS), walls
    assert walls["cli"].startswith(("OpenTofu v", "Terraform v"))
    assert emulator.admin.users() == []


@needs_binaries
@pytest.mark.e2e
def test_run_peer_on_the_file_backend(emulator, tmp_path: Path):
    walls = peer.run_peer(emulator, N, backend="file", parallelism=4, latency_ms=0, work_dir=tmp_path / "peer",
                          update_share=0.5)
    check_lifecycle(walls, emulator)
    assert (tmp_path / "peer" / "config" / "terraform.tfstate").is_file()


@needs_binaries
@pytest.mark.e2e
def test_run_peer_on_the_s3_backend(emulator, moto, tmp_path: Path):
    walls = peer.run_peer(emulator, N, backend="s3", parallelism=4, latency_ms=0, s3=moto,
                          work_dir=tmp_path / "peer", update_share=0.5)
    check_lifecycle(walls, emulator)
    keys = [entry["Key"] for entry in moto.client().list_objects_v2(Bucket=moto.bucket).get("Contents", [])]
    assert any(key.startswith("peer/") and key.endswith("/terraform.tfstate") for key in keys), keys
    assert not (tmp_path / "peer" / "config" / "terraform.tfstate").exists()
