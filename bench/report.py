"""docs/benchmarks.md: the generated results between markers; the rest of the file is kept."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from bench.scenarios import SEGMENTS, Figure, Results

START, END = "<!-- results:start -->", "<!-- results:end -->"

HEADER = """# Benchmarks

`make bench` starts its own stack (Temporal dev server on a fresh SQLite file, the OpenRuns
worker, API and gateway as separate processes, and a raw-Temporal baseline worker), runs every
scenario, and rewrites the section between the markers below. The raw baseline is measured in
the same run on the same server, and every figure is reported as a ratio to it, because these
machines are shared and noisy. `make bench-quick` (`--quick`) is the everyday version.

"""


def _row(figure: Figure, q: float) -> str:
    s = figure.summary(q)
    ratio = figure.ratio
    met = _met(figure.target, ratio, s["or_pq"])
    single = len(figure.openruns) < 5  # a few bursts: their median only
    ours = f"{s['or_p50']:.1f}" if single else f"{s['or_p50']:.1f} / {s['or_pq']:.1f}"
    raw = f"{s['raw_p50']:.1f}" if single else f"{s['raw_p50']:.1f} / {s['raw_pq']:.1f}"
    note = f" {figure.note}" if figure.note else ""
    if figure.paired:
        note += " (rounds: " + ", ".join(f"{r:.2f}×" for r in figure.round_ratios) + ")"
    return f"| {figure.name} | {figure.unit} | {ours} | {raw} | {ratio:.2f}× | {figure.target}{note} | {met} |"


def _met(target: str, ratio: float, tail: float) -> str:
    """Whether the figure meets its target: a ratio bound, or a bound on the tail (p95 ms)."""
    if target.startswith("p50 ≤ "):
        return "yes" if ratio <= float(target.split("≤ ")[1].split("×")[0]) else "no"
    if target.startswith("≥ "):
        return "yes" if ratio >= float(target.split("≥ ")[1].split("×")[0]) else "no"
    if target.startswith("p95 ≤ "):
        return "yes" if tail <= float(target.split("≤ ")[1].split(" ms")[0]) else "no"
    return ""


def _table_head(intro: str, columns: list[str]) -> list[str]:
    """A sentence saying what a table holds, then the table's header rows."""
    return [intro, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def _cpu_table(cpu: dict[str, dict[str, float]]) -> list[str]:
    """Where a run's CPU goes during the throughput bursts, OpenRuns beside raw."""
    ours, raw = cpu["OpenRuns"], cpu["raw"]
    lines = _table_head(
        "CPU per run during the throughput bursts (ms, median of the bursts; from `/proc`, "
        "so it counts what each process did for those runs and their visibility updates):",
        ["process", "OpenRuns", "raw Temporal", "difference"],
    )
    for part in dict.fromkeys([*ours, *raw]):
        a, b = ours.get(part), raw.get(part)
        cells = [f"{a:.2f}" if a is not None else "—", f"{b:.2f}" if b is not None else "—"]
        diff = f"{(a or 0) - (b or 0):+.2f}"
        name = f"**{part}**" if part == "total" else part
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {diff} |")
    return lines


def _split_table(split: dict[str, dict[str, float]]) -> list[str]:
    """Where a latency run's time goes, from its history's event times, OpenRuns beside raw."""
    ours, raw = split["OpenRuns"], split["raw"]
    lines = _table_head(
        "Where a latency run's time goes (ms, median of the runs; the server's event times "
        "against the caller's clock, so each segment is ±1 ms):",
        ["segment", "OpenRuns", "raw Temporal", "difference", "what it is"],
    )
    for name, what in SEGMENTS.items():
        a, b = ours[name], raw[name]
        lines.append(f"| {name} | {a:.1f} | {b:.1f} | {a - b:+.1f} | {what} |")
    return lines


def render(results: Results, machine: dict[str, str], versions: dict[str, str],
           args: argparse.Namespace, seconds: float) -> str:  # fmt: skip
    lines = [
        START,
        f"## Latest results ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{'--quick' if args.quick else 'full'} run, {seconds:.0f} s)",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()) + "  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        "Figures are median / p90 (listing: median / p95); rates are the median of a few "
        "bursts, raw and OpenRuns alternating. "
        "Ratio = OpenRuns ÷ raw on medians (time: lower is better; rates: higher is better); "
        "for throughput and email, the median of the rounds' ratios (each round: a raw and an "
        "OpenRuns burst back to back; throughput after a warm-up round that is not counted; "
        "email in two rounds of half the messages, each burst's runs finished before the next "
        "burst).",
        "",
        "| scenario | unit | OpenRuns | raw Temporal | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for figure in results.figures:
        lines.append(_row(figure, 0.95 if figure.name.startswith("Listing") else 0.9))
    if results.latency_split:
        lines += ["", *_split_table(results.latency_split)]
    if results.cpu:
        lines += ["", *_cpu_table(results.cpu)]
    lines += ["", "Peak RSS during the throughput run:", ""]
    lines += [f"- {name}: {mib:.0f} MiB" for name, mib in results.memory.items()]
    if results.notes:
        lines += ["", *[f"- {note}" for note in results.notes]]
    lines.append(END)
    return "\n".join(lines)


def write_report(path: Path, results: Results, machine: dict[str, str],
                 versions: dict[str, str], args: argparse.Namespace, seconds: float) -> None:  # fmt: skip
    block = render(results, machine, versions, args, seconds)
    text = path.read_text() if path.exists() else HEADER + START + "\n" + END + "\n"
    if START not in text:
        text = text + "\n" + START + "\n" + END + "\n"
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(before + block + after)
