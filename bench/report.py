"""Write the results: ``bench.json`` (everything), ``bench.md`` (tables) and
``time_per_user.png`` (time per user against N, per scenario, one panel per
main setting)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench import baseline
from bench.compare import Results, per_user_ms
from bench.defaults import ALLOY_STACK, FLOOR_STACK, SCENARIOS, STUDY_SCENARIOS

JSON_NAME = "bench.json"
MARKDOWN_NAME = "bench.md"
PLOT_NAME = "time_per_user.png"


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
        "do-nothing provider and the same setting. `latency floor`: calls needed × latency / concurrency. "
        "Peak RSS in MB; CPU in s (CLI / provider / program). `load`: the machine's 1-minute load average "
        "as the run ended (other work on the machine inflates wall times).",
    ]
    for setting in results.main_settings:
        lines += [
            "",
            f"## Scenarios, setting `{setting}`",
            "",
            "| N | scenario | alloy s | ms/user | API calls | engine floor s | client s | latency floor s "
            "| × client | × floor | CLI MB | provider MB | CPU CLI/prov/prog | state B/user | load |",
            "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        ]
        for n in results.sizes:
            for scenario in SCENARIOS:
                run = results.run(ALLOY_STACK, n, scenario, setting)
                if run is not None:
                    lines.append(_scenario_row(results, run, setting))
    lines += ["", "## Client baseline (`providers.client.AlloyClient`)", "",
              "| N | operation | s | API calls | ms a call per worker |", "|---:|---|---:|---:|---:|"]
    for n in results.sizes:
        for operation in baseline.OPERATIONS:
            entry = results.baseline(n, operation)
            if entry is not None:
                workers = 1 if operation == baseline.LIST else meta["workers"]
                per_call = entry["wall_s"] * 1000 * workers / entry["calls"] if entry["calls"] else 0
                lines.append(f"| {n} | {operation} | {entry['wall_s']:.2f} | {entry['calls']} | {per_call:.1f} |")
    n = meta.get("study_size")
    if n and len(results.settings) > 1:
        lines += ["", f"## Checkpoint study (real stack, N={n})", "",
                  "Wall seconds, and in brackets the CLI's CPU seconds.", "",
                  "| setting | " + " | ".join(STUDY_SCENARIOS) + " |", "|---|" + "---:|" * len(STUDY_SCENARIOS)]
        for setting in results.settings:
            cells = []
            for scenario in STUDY_SCENARIOS:
                run = results.run(ALLOY_STACK, n, scenario, setting)
                cells.append("-" if run is None else f"{run['wall_s']:.2f} ({run['cpu_s']['cli']:.1f})")
            lines.append(f"| `{setting}` | " + " | ".join(cells) + " |")
    lines += ["", "## Targets", "", "| target | setting | scope | measured | limit | met |", "|---|---|---|---|---|---|"]
    for row in raw.get("targets", []):
        met = {True: "met", False: "**not met**", None: "n/a"}[row["met"]]
        lines.append(f"| {row['target']} | `{row['setting']}` | {row['scope']} | {row['value']} | {row['limit']} | {met} |")
    return "\n".join(lines) + "\n"


def plot(raw: dict[str, Any], path: Path) -> None:
    """Time per user against N, one colour per scenario (alloy solid, engine floor dashed), a panel per main setting."""
    results = Results(raw)
    sizes, settings = results.sizes, results.main_settings or ["default"]
    # The Agg canvas directly: no pyplot, no global backend state.
    figure = Figure(figsize=(7 * len(settings), 5))
    FigureCanvasAgg(figure)
    panels = figure.subplots(1, len(settings), squeeze=False, sharey=True)
    colours = colormaps["tab10"]
    for axes, setting in zip(panels[0], settings):
        for index, scenario in enumerate(SCENARIOS):
            for stack, style in ((ALLOY_STACK, "-"), (FLOOR_STACK, "--")):
                points = [(n, per_user_ms(results.wall(stack, n, scenario, setting), n)) for n in sizes]
                points = [(n, value) for n, value in points if value is not None]
                if points:
                    label = f"{scenario} ({'alloy' if stack == ALLOY_STACK else 'engine floor'})"
                    axes.plot([p[0] for p in points], [p[1] for p in points], style, marker="o",
                              color=colours(index), label=label)
        if len(sizes) > 1:
            axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xticks(sizes, [str(n) for n in sizes])
        axes.set_xlabel("users in the stack (N)")
        axes.set_title(f"setting {setting}")
        axes.grid(True, which="both", alpha=0.3)
    panels[0][0].set_ylabel("wall time per user (ms)")
    panels[0][-1].legend(fontsize=7, ncol=2)
    figure.suptitle(f"alloy-users: time per user, API latency {results.meta['latency_ms']:g} ms")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _scenario_row(results: Results, run: dict[str, Any], setting: str) -> str:
    n, scenario, cpu = run["n"], run["scenario"], run["cpu_s"]
    return (
        f"| {n} | {scenario} | {run['wall_s']:.2f} | {_num(per_user_ms(run['wall_s'], n), 1)} "
        f"| {_calls(run['api_calls'])} | {_num(results.floor(n, scenario, setting))} | {_num(results.client(n, scenario))} "
        f"| {results.latency_floor(n, scenario):.2f} | {_num(results.ratio_to_client(n, scenario, setting))} "
        f"| {_num(results.ratio_to_floor(n, scenario, setting))} | {run['peak_rss_mb']['cli']:.0f} "
        f"| {run['peak_rss_mb']['provider']:.0f} | {cpu['cli']:.1f} / {cpu['provider']:.1f} / {cpu['program']:.1f} "
        f"| {run['state_bytes'] / n:.0f} | {_num(run.get('loadavg_1m'), 1)} |"
    )


def _calls(by_method: dict[str, int]) -> str:
    parts = [f"{method} {count}" for method, count in sorted(by_method.items()) if count]
    return ", ".join(parts) if parts else "0"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _load(values: list[float] | None) -> str:
    return "-" if not values else "/".join(f"{value:.1f}" for value in values)
