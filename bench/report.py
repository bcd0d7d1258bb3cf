"""Write the results: ``bench.json`` (everything), ``bench.md`` (tables) and
``time_per_user.png`` (time per user against N for each scenario and stack,
one panel per main setting)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.typing import LineStyleType

from bench import baseline
from bench.compare import Results, per_user_ms
from bench.defaults import ALLOY_STACK, FLOOR_STACK, PACED_FLOOR_STACK, SCENARIOS, STACKS, STUDY_SCENARIOS

JSON_NAME = "bench.json"
MARKDOWN_NAME = "bench.md"
PLOT_NAME = "time_per_user.png"
STACK_STYLES: dict[str, LineStyleType] = {ALLOY_STACK: "-", FLOOR_STACK: "--", PACED_FLOOR_STACK: ":"}


def write_results(raw: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write the three files into ``out_dir`` (replacing the previous run's); return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / JSON_NAME, "markdown": out_dir / MARKDOWN_NAME, "plot": out_dir / PLOT_NAME}
    paths["json"].write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(markdown(raw), encoding="utf-8")
    plot(raw, paths["plot"])
    return paths


def markdown(raw: dict[str, Any]) -> str:
    """The report: a scenario table per main setting, client baseline, checkpoint study, targets."""
    results = Results(raw)
    meta = results.meta
    lines = [
        "# alloy-users benchmark",
        "",
        f"{meta['started']}, {meta.get('duration_s', '-')} s in all; API latency {meta['latency_ms']:g} ms a request, "
        f"{meta['workers']} concurrent calls (provider and client); {meta['pulumi_cli']} CLI, "
        f"pulumi {meta['pulumi_python_sdk']} SDK, Python {meta['python']}, {meta['cpu_count']} CPUs, "
        f"load average {_load(meta.get('loadavg_start'))} at start, {_load(meta.get('loadavg_end'))} at end; "
        f"each figure is the fastest of {meta.get('repeat', 1)} repeat(s).",
        "",
        "`× client`: alloy time / the client doing the same API work with "
        f"{meta['workers']} workers (refresh: one `GET /users`). `× floor`: alloy time / the same stack with a "
        "do-nothing provider and the same setting (the engine floor). `ideal`: calls needed × latency / "
        "concurrency. `paced floor`, `× paced`: the engine floor whose provider sleeps where the real one calls "
        "the API, as long as a call took the client (per worker; "
        f"{_paces(meta)}), so `× paced` is what our provider adds to the engine at the API's pace. "
        "Peak RSS in MB; CPU in s (CLI / provider / program / emulator, which a real run does not pay on its "
        "machine). `load`: the machine's 1-minute load average "
        "as the run ended (other work on the machine inflates wall times).",
    ]
    for setting in results.main_settings:
        lines += [
            "",
            f"## Scenarios, setting `{setting}`",
            "",
            "| N | scenario | alloy s | ms/user | API calls | engine floor s | client s | ideal s | paced floor s "
            "| × client | × floor | × paced | CLI MB | provider MB | CPU CLI/prov/prog/emu | state B/user | load |",
            "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        ]
        for n in results.sizes:
            for scenario in SCENARIOS:
                run = results.run(ALLOY_STACK, n, scenario, setting)
                if run is not None:
                    lines.append(_scenario_row(results, run, setting))
    lines += ["", "## Client baseline (`providers.alloy.client.AlloyClient`)", "",
              "| N | operation | s | API calls | ms a call per worker |", "|---:|---|---:|---:|---:|"]
    for n in results.sizes:
        for operation in baseline.OPERATIONS:
            entry = results.baseline(n, operation)
            if entry is not None:
                workers = 1 if operation == baseline.LIST else meta["workers"]
                per_call = entry["wall_s"] * 1000 * workers / entry["calls"] if entry["calls"] else 0
                lines.append(f"| {n} | {operation} | {entry['wall_s']:.2f} | {entry['calls']} | {per_call:.1f} |")
    study_n = meta.get("study_size")
    if study_n and len(results.settings) > 1:
        lines += ["", f"## Checkpoint study (real stack, N={study_n})", "",
                  "Wall seconds, and in brackets the CLI's CPU seconds.", "",
                  "| setting | " + " | ".join(STUDY_SCENARIOS) + " |", "|---|" + "---:|" * len(STUDY_SCENARIOS)]
        for setting in results.settings:
            cells = []
            for scenario in STUDY_SCENARIOS:
                run = results.run(ALLOY_STACK, study_n, scenario, setting)
                cells.append("-" if run is None else f"{run['wall_s']:.2f} ({run['cpu_s']['cli']:.1f})")
            lines.append(f"| `{setting}` | " + " | ".join(cells) + " |")
    lines += _tools_section(raw)
    lines += ["", "## Targets", "",
              "| target | setting | scope | measured | limit | met |", "|---|---|---|---|---|---|"]
    for row in raw.get("targets", []):
        met = {True: "met", False: "**not met**", None: "n/a"}[row["met"]]
        lines.append(
            f"| {row['target']} | `{row['setting']}` | {row['scope']} | {row['value']} | {row['limit']} | {met} |"
        )
    return "\n".join(lines) + "\n"


def plot(raw: dict[str, Any], path: Path) -> None:
    """Time per user against N, a colour per scenario and a line style per stack, a panel per main setting."""
    results = Results(raw)
    sizes, settings = results.sizes, results.main_settings or ["default"]
    # The Agg canvas directly: no pyplot, no global backend state.
    figure = Figure(figsize=(7 * len(settings), 5.5))
    FigureCanvasAgg(figure)
    panels = figure.subplots(1, len(settings), squeeze=False, sharey=True)
    colours = colormaps["tab10"]
    for axes, setting in zip(panels[0], settings):
        for index, scenario in enumerate(SCENARIOS):
            for stack in STACKS:
                points = [(n, per_user_ms(results.wall(stack, n, scenario, setting), n)) for n in sizes]
                points = [(n, value) for n, value in points if value is not None]
                if points:
                    axes.plot([p[0] for p in points], [p[1] for p in points], STACK_STYLES[stack], marker="o",
                              markersize=4, color=colours(index))
        if len(sizes) > 1:
            axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xticks(sizes, [str(n) for n in sizes])
        axes.set_xlabel("users in the stack (N)")
        axes.set_title(f"setting {setting}")
        axes.grid(True, which="both", alpha=0.3)
    panels[0][0].set_ylabel("wall time per user (ms)")
    scenario_keys = [Line2D([], [], color=colours(i), marker="o", label=name) for i, name in enumerate(SCENARIOS)]
    stack_keys = [Line2D([], [], color="grey", linestyle=STACK_STYLES[stack], label=stack) for stack in STACKS]
    figure.legend(handles=scenario_keys + stack_keys, loc="lower center", ncol=len(SCENARIOS) + len(STACKS), fontsize=8)
    figure.suptitle(f"alloy-users: time per user, API latency {results.meta['latency_ms']:g} ms")
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    figure.savefig(path, dpi=120)


def _scenario_row(results: Results, run: dict[str, Any], setting: str) -> str:
    n, scenario, cpu = run["n"], run["scenario"], run["cpu_s"]
    return (
        f"| {n} | {scenario} | {run['wall_s']:.2f} | {_num(per_user_ms(run['wall_s'], n), 1)} "
        f"| {_calls(run['api_calls'])} | {_num(results.floor(n, scenario, setting))} "
        f"| {_num(results.client(n, scenario))} "
        f"| {results.latency_floor(n, scenario):.2f} | {_num(results.paced_floor(n, scenario, setting))} "
        f"| {_num(results.ratio_to_client(n, scenario, setting))} "
        f"| {_num(results.ratio_to_floor(n, scenario, setting))} "
        f"| {_num(results.ratio_to_paced_floor(n, scenario, setting))} | {run['peak_rss_mb']['cli']:.0f} "
        f"| {run['peak_rss_mb']['provider']:.0f} | {cpu['cli']:.1f} / {cpu['provider']:.1f} / {cpu['program']:.1f} "
        f"/ {_num(run.get('emulator_cpu_s'), 1)} "
        f"| {run['state_bytes'] / n:.0f} | {_num(run.get('loadavg_1m'), 1)} |"
    )


def _tools_section(raw: dict[str, Any]) -> list[str]:
    """The read-only tools (``bench.tools``): pull and drift, fastest repeat of each case."""
    fastest: dict[tuple[str, str, int], dict[str, Any]] = {}
    for entry in raw.get("tools", []):
        key = (entry["tool"], entry["case"], entry["n"])
        if key not in fastest or entry["wall_s"] < fastest[key]["wall_s"]:
            fastest[key] = entry
    if not fastest:
        return []
    lines = ["", "## Read-only tools (`pull`, `drift`)", "",
             "`pull`: `python -m providers.manifest pull` from an account of N users, `GET /users` paged; "
             "`parse` and `fmt`: `parse_manifest` (what `check` does) and `format_manifest` (what `fmt --check` "
             "does) of the written file, in-process. `drift`: `python -m review drift` right after the "
             "stack's refresh (no drift), beside that refresh's time.", "",
             "| tool | N | case | s | API calls | exit | notes |", "|---|---:|---|---:|---|---:|---|"]
    for (tool, case, n), entry in sorted(fastest.items(), key=lambda item: (item[0][0] != "pull", item[0][2])):
        notes = []
        if "page_size" in entry:
            notes.append(f"{entry['page_size']} a page")
        if "fmt_s" in entry:
            notes.append(f"parse {entry['parse_s']:.2f} s, fmt {entry['fmt_s']:.2f} s, "
                         f"{entry['manifest_bytes'] / 1024:.0f} KiB")
        if entry.get("refresh_wall_s"):
            notes.append(f"refresh {entry['refresh_wall_s']:.2f} s (× {entry['wall_s'] / entry['refresh_wall_s']:.2f})")
        lines.append(f"| {tool} | {n} | {case} | {entry['wall_s']:.2f} | {_calls_by_route(entry['api_calls'])} "
                     f"| {entry['exit_status']} | {'; '.join(notes)} |")
    return lines


def _calls_by_route(routes: dict[str, int]) -> str:
    parts = [f"{route} ×{count}" for route, count in sorted(routes.items()) if count]
    return ", ".join(parts) if parts else "0"


def _calls(by_method: dict[str, int]) -> str:
    parts = [f"{method} {count}" for method, count in sorted(by_method.items()) if count]
    return ", ".join(parts) if parts else "0"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _paces(meta: dict[str, Any]) -> str:
    paces = meta.get("paced_floor_ms") or {}
    return ", ".join(f"{value:g} ms at N={n}" for n, value in paces.items()) or "-"


def _load(values: list[float] | None) -> str:
    return "-" if not values else "/".join(f"{value:.1f}" for value in values)
