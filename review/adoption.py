"""Predict which creates will be adoptions: one read-only ``GET /users``.

A create whose username already exists in Alloy is adopted at apply time
(``alloy:adoptExisting``, the default) or fails. Preview never calls the API,
so the plan asks once, when it has creates and ``ALLOY_API_KEY`` is set. The
key comes from the environment only, never from the stack's secrets, and no
message here contains it (the client redacts it from its errors).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Mapping, Optional

from providers.alloy.client import AlloyClient
from providers.alloy.errors import AlloyError
from providers.alloy.settings import API_KEY, API_KEY_ENV, read_settings
from review.plan import Action, ExistingUser, Plan

API_KEY_CONFIG = API_KEY.key

NOT_NEEDED = "not-needed"
NO_KEY = "no-key"
FAILED = "failed"
CHECKED = "checked"


@dataclass(frozen=True)
class AdoptionCheck:
    """The outcome: ``status`` is one of the constants above; ``adopt_existing``
    is the stack's ``alloy:adoptExisting``; ``detail`` says why a check failed."""

    status: str
    adopt_existing: bool = True
    detail: str = ""


def predict_adoption(plan: Plan, environ: Optional[Mapping[str, str]] = None) -> tuple[Plan, AdoptionCheck]:
    """Mark each create whose username exists in Alloy (``UserChange.existing``).

    Uses the preview's stack config for the endpoint and the client settings,
    and ``ALLOY_API_KEY`` from ``environ`` for the key. Makes no call when the
    plan has no creates or there is no key; a failed call is reported in the
    returned ``AdoptionCheck``, never raised.
    """
    environ = os.environ if environ is None else environ
    config = plan.config

    def get(key: str) -> Optional[str]:
        # The preview shows secrets as "[secret]"; the key comes from the environment.
        return None if key == API_KEY_CONFIG else config.get(key)

    try:
        settings = read_settings(get, environ)
    except AlloyError as problem:
        return plan, AdoptionCheck(FAILED, True, str(problem))
    adopt = settings.adopt_existing
    if not any(change.action is Action.CREATE for change in plan.changes):
        return plan, AdoptionCheck(NOT_NEEDED, adopt)
    if not environ.get(API_KEY_ENV, "").strip():
        return plan, AdoptionCheck(NO_KEY, adopt)
    try:
        client = AlloyClient(settings.client)
        try:
            users = client.list_users()
        finally:
            client.close()
    except AlloyError as problem:
        return plan, AdoptionCheck(FAILED, adopt, str(problem))
    by_name = {user.username: user for user in users if user.username is not None}
    changes = [
        replace(change, existing=ExistingUser(by_name[change.username].user_id, by_name[change.username].full_name))
        if change.action is Action.CREATE and change.username in by_name
        else change
        for change in plan.changes
    ]
    return plan.with_changes(changes), AdoptionCheck(CHECKED, adopt)
