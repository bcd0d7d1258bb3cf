"""Engine floor program: one ``NullUser`` per entry of ``users.json``, a
``NullGuard`` depending on them all (as the real ``DeletionGuard``), and the
same stack outputs as the real program (``userIds``, ``adoptedUsers``).

Like the real program, each resource records one source position (the line
its user would have in users.yaml) instead of the SDK's call stack, through
the real program's ``providers.stack.provenance`` (copied in by ``bench.stacks``),
so that both stacks write the same state shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from floor_provider import NullGuard, NullUser
from providers.stack import provenance

USERS_FILE = "users.json"
# users.yaml has two header lines, then two lines per user.
FIRST_LINE, LINES_PER_USER = 3, 2

entries: list[dict[str, Any]] = json.loads(Path(USERS_FILE).read_text(encoding="utf-8"))
provenance.install()
# As the real program's deletion guard: read the stack's last state through the engine.
pulumi.runtime.invoke(
    "pulumi:pulumi:readStackResourceOutputs",
    {"stackName": f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"},
)
resources = {}
for index, entry in enumerate(entries):
    with provenance.declared_at("users.yaml", FIRST_LINE + LINES_PER_USER * index):
        name = entry["username"]
        resources[name] = NullUser(name, username=name, full_name=entry.get("fullName"))
with provenance.declared_at("users.yaml", 1):
    NullGuard(list(resources.values()))  # as the real stack's DeletionGuard
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
