"""Write the results of ``bench.scale``: ``scale.json`` (everything),
``scale.md`` (tables and targets) and ``scale.png`` (time per user against
N, a panel per backend: each scenario of the default path, the client
baseline and, when measured, OpenTofu)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from bench.scale_targets import (
    CLIENT_BASELINE, PEER_DEFAULT_PARALLELISM, PEER_SCENARIOS, SCENARIO_ORDER, state_bytes_per_user,
)

JSON_NAME = "scale.json"
MARKDOWN_NAME = "scale.md"
PLOT_NAME = "scale.png"
ROLES = ("cli", "program", "provider", "wrapper")
COMMANDS = {
    "create": "`review apply`, N new users",
    "noop-preview": "`pulumi preview`, nothing to do",
    "update": "`pulumi up --skip-preview`, checkpoints skipped (apply's up step)",
    "destroy": "`review apply` of an empty manifest",
    "adopt": "`review apply`, N users Alloy already has",
}


def write_scale_results(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write the three files into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / JSON_NAME, out_dir / MARKDOWN_NAME, out_dir / PLOT_NAME]
    paths[0].write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(results), encoding="utf-8")
    plot(results, paths[2])
    return paths


def markdown(results: dict[str, Any]) -> str:
    """The report: the scenarios by backend and N, the peer, the targets."""
    meta = results["meta"]
    lines = [
        f"# Scale run: API latency {meta['latency_ms']:g} ms, GET /users paged at {meta.get('list_page_size', '-')}, "
        f"{meta.get('cpu_count', '?')} CPUs, load average {_load(meta.get('loadavg_start'))} -> "
        f"{_load(meta.get('loadavg_end'))}",
        "",
        "Default path: " + "; ".join(f"{name}: {text}" for name, text in COMMANDS.items()) + ".",
        "",
        "| backend | N | scenario | s | ms/user | × client | API calls | CPU s (cli/program/provider/wrapper) "
        "| peak MB (cli/program/provider/wrapper) | state B/user |",
        "|---|---:|---|---:|---:|---:|---|---|---|---:|",
    ]
    for row in sorted(results["rows"], key=lambda r: (r["backend"], r["n"])):
        n, backend = row["n"], row["backend"]
        for name, seconds in row["client"].items():
            lines.append(f"| {backend} | {n} | client {name} (4 workers) | {seconds} | {seconds * 1000 / n:.2f} "
                         "| 1.00 | | | | |")
        for name in SCENARIO_ORDER:
            if name not in row["runs"]:
                continue
            run = row["runs"][name]
            baseline = row["client"].get(CLIENT_BASELINE.get(name, ""))
            ratio = f"{run['wall_s'] / baseline:.2f}" if baseline else "-"
            cpu = "/".join(str(run["cpu_s"].get(role, 0)) for role in ROLES)
            rss = "/".join(str(run["peak_rss_mb"].get(role, 0)) for role in ROLES)
            calls = ", ".join(f"{route} {count}" for route, count in run.get("api_calls", {}).items()) or "0"
            per_user = state_bytes_per_user(row["runs"], name, n)
            state = f"{per_user:.0f}" if per_user is not None else "-"
            lines.append(f"| {backend} | {n} | {name} | {run['wall_s']} | {run['wall_s'] * 1000 / n:.2f} | {ratio} "
                         f"| {calls} | {cpu} | {rss} | {state} |")
    lines += ["", f"Peer: {meta.get('peer', 'not measured')}.", ""]
    if results.get("peer"):
        lines += ["| backend | N | OpenTofu -parallelism | " + " | ".join(sorted(_peer_names(results))) + " |",
                  "|---|---:|---:|" + "---:|" * len(_peer_names(results))]
        for entry in sorted(results["peer"], key=lambda e: (e["backend"], e["n"], e["parallelism"])):
            cells = " | ".join(str(entry["runs"].get(name, "-")) for name in sorted(_peer_names(results)))
            lines.append(f"| {entry['backend']} | {entry['n']} | {entry['parallelism']} | {cells} |")
        lines.append("")
    lines += ["| target | backend | scope | value | limit | met |", "|---|---|---|---|---|---|"]
    for target in results["targets"]:
        met = {True: "yes", False: "**no**", None: "-"}[target["met"]]
        lines.append(f"| {target['target']} | {target['backend']} | {target['scope']} | {target['value']} "
                     f"| {target['limit']} | {met} |")
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Time per user against N (log-log), a panel per backend."""
    rows = results["rows"]
    backends = list(dict.fromkeys(row["backend"] for row in rows)) or ["file"]
    figure = Figure(figsize=(6.5 * len(backends), 5))
    FigureCanvasAgg(figure)  # the Agg canvas directly: no pyplot, no global backend state
    panels = figure.subplots(1, len(backends), squeeze=False, sharey=True)[0]
    colours = colormaps["tab10"]
    for axes, backend in zip(panels, backends):
        mine = sorted((row for row in rows if row["backend"] == backend), key=lambda row: row["n"])
        sizes = [row["n"] for row in mine]
        for index, scenario in enumerate(SCENARIO_ORDER):
            points = [(row["n"], row["runs"][scenario]["wall_s"] * 1000 / row["n"]) for row in mine
                      if scenario in row["runs"]]
            if points:
                axes.plot(*zip(*points), "-", marker="o", color=colours(index), label=scenario)
        for style, name in (("--", "create"), (":", "destroy")):
            points = [(row["n"], row["client"][name] * 1000 / row["n"]) for row in mine if name in row["client"]]
            if points:
                axes.plot(*zip(*points), style, color="grey", label=f"client {name} (4 workers)")
        peer = sorted((e for e in results.get("peer", []) if e["backend"] == backend
                       and e["parallelism"] == PEER_DEFAULT_PARALLELISM), key=lambda e: e["n"])
        for index, (ours, theirs) in enumerate(PEER_SCENARIOS.items()):
            points = [(e["n"], e["runs"][theirs] * 1000 / e["n"]) for e in peer if e["runs"].get(theirs)]
            if points:
                axes.plot(*zip(*points), "-.", marker="x", color=colours(SCENARIO_ORDER.index(ours)), alpha=0.6,
                          label=f"OpenTofu {theirs}")
        if len(sizes) > 1:
            axes.set_xscale("log")
        axes.set_yscale("log")
        if sizes:
            axes.set_xticks(sizes, [f"{n:,}" for n in sizes])
            axes.xaxis.set_minor_formatter(NullFormatter())
        axes.set_xlabel("users in the stack (N)")
        axes.set_title(f"{backend} backend")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=7)
    panels[0].set_ylabel("wall time per user (ms)")
    figure.suptitle(f"alloy-users, default path: time per user, API latency {results['meta']['latency_ms']:g} ms")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _peer_names(results: dict[str, Any]) -> set[str]:
    return {name for entry in results.get("peer", []) for name in entry["runs"]}


def _load(values: Any) -> str:
    return "/".join(f"{value:.1f}" for value in values) if values else "-"
