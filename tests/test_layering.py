"""The packages keep to their layers: which may import Pulumi, who may
import whom, and no import cycles between the project's modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("providers", "review", "emulator", "scripts", "bench")
PULUMI_FREE = ("providers.manifest", "providers.alloy", "providers.guard", "providers.onboarding", "providers.pulumi_cli", "review", "emulator")
# What each layer may import of the project (prefixes); None: anything.
ALLOWED = {
    "emulator": ("emulator",),
    "providers.manifest": ("providers.manifest",),
    # The command line's composition root adds `pull` from the layer above.
    "providers.manifest.__main__": ("providers.manifest", "providers.onboarding"),
    "providers.alloy": ("providers.alloy", "providers.manifest"),
    "providers.onboarding": ("providers.onboarding", "providers.manifest", "providers.alloy", "providers.pulumi_cli"),
    "providers.pulumi_cli": ("providers.pulumi_cli",),
    "providers.guard": ("providers.guard", "providers.alloy"),
    "review": ("review", "providers.manifest", "providers.alloy", "providers.guard", "providers.onboarding",
               "providers.pulumi_cli"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "results" not in path.parts:
                found[module_name(path)] = path
    return found


def imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """The absolute module names imported by ``path`` (with ``top_level_only``,
    only statements at module level: what runs at import time)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def layer_of(module: str) -> str | None:
    matches = [layer for layer in ALLOWED if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len) if matches else None


MODULES = modules()


def in_package(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


@pytest.mark.parametrize("module", [m for m in MODULES if in_package(m, PULUMI_FREE)], ids=str)
def test_pulumi_free_layers_import_no_pulumi(module):
    used = {name for name in imports(MODULES[module]) if name == "pulumi" or name.startswith("pulumi.")}
    assert not used, f"{module} imports {sorted(used)}"


@pytest.mark.parametrize("module", [m for m in MODULES if layer_of(m)], ids=str)
def test_each_layer_imports_only_what_it_may(module):
    allowed = ALLOWED[layer_of(module)]
    project = {name for name in imports(MODULES[module]) if name.split(".")[0] in PACKAGES + ("tests",)}
    wrong = sorted(name for name in project if not in_package(name, allowed))
    assert not wrong, f"{module} may import only {allowed}, imports {wrong}"


def test_no_import_cycles():
    graph = {
        module: {name for name in imports(path, top_level_only=True) if name in MODULES and name != module}
        for module, path in MODULES.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target):] + [target] if target in trail else [module, target])
            elif target not in state:
                visit(target, trail + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, f"import cycles: {cycles}"


def test_the_type_tokens_are_the_resources():
    from providers.alloy_user import AlloyUser
    from providers.guard.state import GUARD_TYPE, USER_TYPE
    from providers.stack.deletion_guard import DeletionGuard

    assert f"pulumi-python:{AlloyUser._resource_type_name}" == USER_TYPE
    assert f"pulumi-python:{DeletionGuard._resource_type_name}" == GUARD_TYPE


def test_no_cycles_between_packages():
    """Package A importing B and B importing A (at any depth of the module) is
    a cycle too, even when no module-level cycle runs at import time; the
    command line's composition root is the one module allowed to reach up."""
    packages = sorted(set(ALLOWED) - {"providers.manifest.__main__"}, key=len, reverse=True)

    def package_of(module: str) -> str | None:
        return next((p for p in packages if module == p or module.startswith(p + ".")), None)

    edges: set[tuple[str, str]] = set()
    for module, path in MODULES.items():
        source = package_of(module)
        if source is None or module == "providers.manifest.__main__":
            continue
        for name in imports(path):
            target = package_of(name)
            if target is not None and target != source:
                edges.add((source, target))
    cycles = sorted((a, b) for a, b in edges if (b, a) in edges and a < b)
    assert not cycles, f"packages that import each other: {cycles}"
