"""Engine floor program: one ``NullUser`` per entry of ``users.json``, and the
same stack outputs as the real program (``userIds``, ``adoptedUsers``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from floor_provider import NullUser

USERS_FILE = "users.json"

entries: list[dict[str, Any]] = json.loads(Path(USERS_FILE).read_text(encoding="utf-8"))
resources = {
    entry["username"]: NullUser(entry["username"], username=entry["username"], full_name=entry.get("fullName"))
    for entry in entries
}
names = list(resources)
pulumi.export(
    "userIds", pulumi.Output.all(*[resources[name].userId for name in names]).apply(lambda ids: dict(zip(names, ids)))
)
pulumi.export(
    "adoptedUsers",
    pulumi.Output.all(*[resources[name].adopted for name in names]).apply(
        lambda flags: [name for name, flag in zip(names, flags) if flag]
    ),
)
