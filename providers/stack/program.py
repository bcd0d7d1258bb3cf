"""What ``__main__.py`` runs: settings and manifest checked first, then one
``AlloyUser`` per manifest entry, then the stack outputs.

Every problem found here stops the run with one ``pulumi.RunError`` message
(no traceback) before any resource is declared, so nothing is touched.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import pulumi
from pulumi.runtime.config import get_config, is_config_secret

from providers.stack import provenance
from providers.alloy_user import AlloyUser
from providers.alloy.client import validate_base_url
from providers.alloy.errors import AlloyConfigError
from providers.manifest import Manifest, ManifestError, load_manifest
from providers.alloy.settings import API_KEY_ENV, RunSettings, read_settings

API_KEY_CONFIG = "alloy:apiKey"
# The exit code by which a Pulumi Python program tells the language host that
# it has already shown the user an actionable message (no generic error added).
ALREADY_REPORTED_EXIT_CODE = 32


def load_run_settings() -> RunSettings:
    """Read and check ``alloy:*`` config; raise ``pulumi.RunError`` on a problem."""
    try:
        if get_config(API_KEY_CONFIG) is not None and not is_config_secret(API_KEY_CONFIG):
            raise AlloyConfigError(
                f"{API_KEY_CONFIG} is stored in plain text in the stack's config file; "
                f"store it encrypted with `pulumi config set --secret {API_KEY_CONFIG} <key>`"
            )
        settings = read_settings(get_config)
        validate_base_url(settings.client.base_url)
        if not settings.client.api_key:
            raise AlloyConfigError(
                f"no Alloy API key: run `pulumi config set --secret {API_KEY_CONFIG} <key>` "
                f"or set the {API_KEY_ENV} environment variable"
            )
        if settings.client.ca_bundle and not os.path.isfile(settings.client.ca_bundle):
            raise AlloyConfigError(f"alloy:caBundle names {settings.client.ca_bundle!r}, which is not a file")
    except AlloyConfigError as problem:
        raise pulumi.RunError(str(problem)) from None
    return settings


def load_users(path: str) -> Manifest:
    """Load and validate the manifest; raise ``pulumi.RunError`` listing every problem."""
    try:
        return load_manifest(path)
    except ManifestError as problems:
        raise pulumi.RunError(f"{path} is not valid:\n{problems}") from None


def declare_users(manifest: Manifest) -> dict[str, AlloyUser]:
    """One ``AlloyUser`` per entry, named by username; previous usernames
    become aliases (a rename updates the same Alloy user in place). Each
    records its manifest line as its source position."""
    resources: dict[str, AlloyUser] = {}
    provenance.install()
    for user in manifest.users:
        options = pulumi.ResourceOptions(
            protect=user.protect,
            retain_on_delete=user.retain_on_delete,
            aliases=[pulumi.Alias(name=old) for old in user.previous_usernames],
        )
        with provenance.declared_at(manifest.path, user.line):
            resources[user.username] = AlloyUser(
                user.username, username=user.username, full_name=user.full_name, opts=options
            )
    return resources


def export_outputs(resources: dict[str, AlloyUser]) -> None:
    """``userIds``: username -> userId; ``adoptedUsers``: usernames this stack
    took over from users that already existed in Alloy."""
    names = list(resources)
    ids = [resources[name].userId for name in names]
    adopted = [resources[name].adopted for name in names]

    def as_map(values: list[Any]) -> dict[str, Any]:
        return dict(zip(names, values))

    def adopted_names(flags: list[Any]) -> list[str]:
        return [name for name, flag in zip(names, flags) if flag]

    pulumi.export("userIds", pulumi.Output.all(*ids).apply(as_map))
    pulumi.export("adoptedUsers", pulumi.Output.all(*adopted).apply(adopted_names))


def stop(message: str) -> NoReturn:
    """End the program with ``message`` as its only error."""
    pulumi.log.error(message)
    sys.stdout.flush()
    sys.exit(ALREADY_REPORTED_EXIT_CODE)


def main() -> None:
    """The whole program."""
    try:
        settings = load_run_settings()
        manifest = load_users(settings.manifest)
    except pulumi.RunError as problem:
        stop(str(problem))
    export_outputs(declare_users(manifest))
