"""What ``__main__.py`` runs: settings and manifest checked first, then the
deletion guard, then one ``AlloyUser`` per manifest entry, the stack's
``DeletionGuard``, and the stack outputs.

Every problem found here stops the run with one message (no traceback)
before any resource is declared, so nothing is touched. ``pulumi preview``
only warns when the guard would block, so that the plan still shows
everything; ``pulumi up`` stops.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterable, NoReturn

import pulumi
from pulumi.runtime.config import get_config, is_config_secret

from providers.alloy.errors import AlloyConfigError
from providers.alloy.settings import API_KEY, RunSettings, check_client_settings, read_settings
from providers.alloy_user import AlloyUser
from providers.guard.rule import GuardInputError, Verdict, judge
from providers.guard.state import StackUser, destroyed_by_removal, stack_users
from providers.manifest import DesiredUser, Manifest, ManifestError, load_manifest
from providers.manifest.identity import username_key
from providers.stack import interrupt, provenance, sdk_speedups
from providers.stack.checkpoint_cost import checkpoint_warning
from providers.stack.interrupt import ALREADY_REPORTED_EXIT_CODE
from providers.stack.deletion_guard import DeletionGuard

READ_STACK_RESOURCES = "pulumi:pulumi:readStackResourceOutputs"
STATE_READ_ATTEMPTS = 6
STATE_READ_PAUSE_S = 0.1


class ProgramError(Exception):
    """A problem that stops the program with its message alone."""


@dataclass(frozen=True)
class DeclaredUser:
    """A manifest entry with the resource names (aliases) it takes over."""

    user: DesiredUser
    aliases: tuple[str, ...]


def load_run_settings() -> RunSettings:
    """Read and check ``alloy:*`` config; raise ``ProgramError`` on a problem."""
    try:
        if get_config(API_KEY.key) is not None and not is_config_secret(API_KEY.key):
            raise AlloyConfigError(
                f"{API_KEY.key} is stored in plain text in the stack's config file; "
                f"store it encrypted with `pulumi config set --secret {API_KEY.key} <key>`"
            )
        settings = read_settings(get_config)
        check_client_settings(settings)
    except AlloyConfigError as problem:
        raise ProgramError(str(problem)) from None
    return settings


def load_users(path: str) -> Manifest:
    """Load and validate the manifest; raise ``ProgramError`` listing every problem."""
    try:
        return load_manifest(path)
    except ManifestError as problems:
        raise ProgramError(f"{path} is not valid:\n{problems}") from None


def read_stack_users() -> list[StackUser]:
    """The users in this stack's state as the last run left them (none for
    a new stack), through the engine's builtin provider. Raise
    ``ProgramError`` if the state cannot be read: the guard fails closed."""
    name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    for attempt in range(STATE_READ_ATTEMPTS):
        try:
            result = pulumi.runtime.invoke(READ_STACK_RESOURCES, {"stackName": name})
            break
        except Exception as problem:  # noqa: BLE001 - any failure means "cannot check"
            # The file backend may be rewriting the checkpoint at this very
            # moment (the engine saves one as the stack starts): read again.
            if attempt + 1 == STATE_READ_ATTEMPTS:
                raise ProgramError(f"cannot read the stack's state to apply the deletion guard: {problem}") from None
            time.sleep(STATE_READ_PAUSE_S * (attempt + 1))
    outputs = (result.value or {}).get("outputs") or {}
    return stack_users(outputs)


def match_prior_users(manifest: Manifest, prior: Iterable[StackUser]) -> list[DeclaredUser]:
    """Each entry with the resource names of the state it continues: its
    previous usernames, and any user in the state whose name or username is
    the same as one of them but for letter case or Unicode form (so such a
    change is an in-place rename, never a delete and a create)."""
    by_key: dict[str, list[str]] = {}
    for user in prior:
        for name in {user.name, user.username}:
            by_key.setdefault(username_key(name), []).append(user.name)
    declared = []
    for entry in manifest.users:
        names: list[str] = []
        for identity in (entry.username, *entry.previous_usernames):
            for candidate in (identity, *by_key.get(username_key(identity), ())):
                if candidate != entry.username and candidate not in names:
                    names.append(candidate)
        declared.append(DeclaredUser(entry, tuple(names)))
    return declared


def count_creates(declared: list[DeclaredUser], prior: list[StackUser]) -> int:
    """How many entries continue no user of the state (each is a create)."""
    known = {name for user in prior for name in (user.name, user.username)}
    return sum(1 for item in declared if item.user.username not in known and not known.intersection(item.aliases))


def guard_removals(
    declared: list[DeclaredUser], prior: list[StackUser], settings: RunSettings
) -> tuple[Verdict, list[StackUser]]:
    """The deletion guard's verdict on what this run would delete in Alloy."""
    kept = {item.user.username for item in declared} | {name for item in declared for name in item.aliases}
    destroyed = destroyed_by_removal(prior, kept, settings.delete_adopted)
    try:
        return judge(len(destroyed), len(prior), settings.max_deletes, os.environ), destroyed
    except GuardInputError as problem:
        raise ProgramError(f"deletion guard: {problem}") from None


def blocked_message(verdict: Verdict, destroyed: list[StackUser], headline: str = "blocked, nothing changed") -> str:
    """One message: the count, the limit, how to acknowledge, and who."""
    shown = ", ".join(repr(user.username) for user in destroyed[:10])
    more = f" and {len(destroyed) - 10} more" if len(destroyed) > 10 else ""
    return f"deletion guard: {headline}: {verdict.explain()} Users it would delete: {shown}{more}."


def declare_users(declared: list[DeclaredUser], manifest: Manifest) -> dict[str, AlloyUser]:
    """One ``AlloyUser`` per entry, named by username; the names it takes
    over become aliases (a rename updates the same Alloy user in place).
    Each records its manifest line as its source position."""
    resources: dict[str, AlloyUser] = {}
    provenance.install()
    for item in declared:
        user = item.user
        options = pulumi.ResourceOptions(
            protect=user.protect,
            retain_on_delete=user.retain_on_delete,
            aliases=[pulumi.Alias(name=name) for name in item.aliases],
        )
        with provenance.declared_at(manifest.path, user.line):
            resources[user.username] = AlloyUser(
                user.username, username=user.username, full_name=user.full_name, opts=options,
                retain_on_delete=user.retain_on_delete, delete_adopted=user.delete_adopted,
            )
    return resources


def declare_guard(
    resources: dict[str, AlloyUser], declared: list[DeclaredUser], prior: list[StackUser],
    settings: RunSettings, approved: int, manifest_path: str,
) -> DeletionGuard:
    """The stack's ``DeletionGuard``: it tells the provider what the guard
    approved, and records what a ``pulumi destroy`` would delete."""
    adopted = {username_key(user.username) for user in prior if user.adopted}
    destroyable = sum(
        1 for item in declared
        if not item.user.retain_on_delete
        and (settings.delete_adopted or item.user.delete_adopted or username_key(item.user.username) not in adopted)
    )
    # Its source position is the manifest as a whole (line 1), not a Python stack.
    with provenance.declared_at(manifest_path, 1):
        return DeletionGuard(
            len(declared), destroyable, approved,
            opts=pulumi.ResourceOptions(depends_on=list(resources.values())),
        )


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
    interrupt.install()
    sdk_speedups.install()
    try:
        settings = load_run_settings()
        manifest = load_users(settings.manifest)
        prior = read_stack_users()
        declared = match_prior_users(manifest, prior)
        verdict, destroyed = guard_removals(declared, prior, settings)
    except ProgramError as problem:
        stop(str(problem))
    approved = verdict.deletions
    if not verdict.allowed:
        if not pulumi.runtime.is_dry_run():
            stop(blocked_message(verdict, destroyed))
        pulumi.log.warn(blocked_message(verdict, destroyed, "`pulumi up` would be blocked"))
        approved = 0
    slow = checkpoint_warning(count_creates(declared, prior), os.environ)
    if slow:
        pulumi.log.warn(slow)
    resources = declare_users(declared, manifest)
    declare_guard(resources, declared, prior, settings, approved, manifest.path)
    export_outputs(resources)
