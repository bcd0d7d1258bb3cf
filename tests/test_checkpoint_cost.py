"""A bare ``pulumi up`` of many creates on a backend that rewrites its
checkpoint says, before it starts, that ``make up`` does it in linear time."""

from __future__ import annotations

import pytest

from providers.guard.state import StackUser
from providers.manifest import load_manifest
from providers.stack.checkpoint_cost import MANY_CREATES, checkpoint_warning
from providers.stack.program import count_creates, match_prior_users
from tests.support.manifests import numbered_users

FILE_BACKEND = {"PULUMI_BACKEND_URL": "file:///srv/state"}


@pytest.mark.parametrize(
    ("creates", "environ", "warned"),
    [
        pytest.param(MANY_CREATES, FILE_BACKEND, True, id="many-creates-file-backend"),
        pytest.param(MANY_CREATES, {"PULUMI_BACKEND_URL": "s3://bucket/prefix?region=eu-west-1"}, True, id="s3"),
        pytest.param(MANY_CREATES - 1, FILE_BACKEND, False, id="few-creates"),
        pytest.param(MANY_CREATES, {**FILE_BACKEND, "PULUMI_SKIP_CHECKPOINTS": "true"}, False, id="checkpoints-skipped"),
        pytest.param(MANY_CREATES, {**FILE_BACKEND, "PULUMI_SKIP_CHECKPOINTS": "false"}, True, id="checkpoints-kept"),
        pytest.param(MANY_CREATES, {**FILE_BACKEND, "ALLOY_CREATE_JOURNAL": "/tmp/j.json"}, False, id="the-wrapper"),
        pytest.param(MANY_CREATES, {"PULUMI_BACKEND_URL": "https://api.pulumi.com"}, False, id="pulumi-cloud"),
        pytest.param(MANY_CREATES, {}, False, id="backend-unknown"),
    ],
)
def test_the_warning_names_the_linear_path_only_when_it_matters(creates, environ, warned):
    message = checkpoint_warning(creates, environ)
    assert (message is not None) is warned
    if message:
        assert f"creates {creates:,} users" in message and "`make up`" in message


def test_only_entries_that_continue_no_user_of_the_state_count_as_creates(tmp_path):
    path = tmp_path / "users.yaml"
    path.write_text(numbered_users(4) + "  - username: renamed@example.com\n    previousUsernames: [old@example.com]\n")
    prior = [StackUser("user0000@example.com", "user0000@example.com", "a" * 24),
             StackUser("old@example.com", "old@example.com", "b" * 24),
             StackUser("USER0001@example.com", "USER0001@example.com", "c" * 24)]
    declared = match_prior_users(load_manifest(str(path)), prior)
    # user0000 continues itself, renamed continues old, user0001 continues its case variant.
    assert count_creates(declared, prior) == 2


@pytest.mark.e2e
def test_a_large_bare_preview_warns_and_the_linear_path_does_not(project):
    stack = project(numbered_users(MANY_CREATES))
    warned = stack.run("preview")
    assert f"this run creates {MANY_CREATES:,} users with checkpoints on" in warned.stdout + warned.stderr
    skipped = stack.run("preview", env={**stack.env, "PULUMI_SKIP_CHECKPOINTS": "true"})
    assert "with checkpoints on" not in skipped.stdout + skipped.stderr
