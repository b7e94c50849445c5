"""Speed benchmark: import, graph build and whoknows on a synthetic firm.

    python bench/benchmark.py [--messages N] [--colleagues N] [--contacts N]
                              [--workdir DIR] [--json]

Each phase runs in its own Python process, so its peak RSS (ru_maxrss) is its
own: generating the mbox, the bare-parse baseline, the import, and the graph
build followed by the whoknows queries (those need the graph in memory, so
their peak includes it). See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script, Python puts bench/ first on the path; the checkout's own
# packages must win over any installed copy of them.
if str(REPO) not in sys.path[:1]:
    sys.path.insert(0, str(REPO))

from bench.synthetic import (  # noqa: E402
    END,
    INTERNAL_DOMAIN,
    FirmSize,
    generate,
    make_population,
    sample_queries,
)

logger = logging.getLogger(__name__)

TARGETS = {
    "import_ratio": 2.5,
    "graph_seconds": 20.0,
    "whoknows_p95_ms": 50.0,
    "peak_rss_mb": 1536.0,
}
PHASES = ("generate", "baseline", "import", "graph")
DEFAULT_QUERIES = 600


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.phase:
        result = PHASE_RUNNERS[args.phase](args)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return 0

    workdir = Path(args.workdir) if args.workdir else None
    keep = workdir is not None or args.keep
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        report = run_all(args, workdir)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(format_table(report))
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _parser() -> argparse.ArgumentParser:
    size = FirmSize()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=size.messages)
    parser.add_argument("--colleagues", type=int, default=size.colleagues)
    parser.add_argument("--contacts", type=int, default=size.contacts)
    parser.add_argument("--seed", type=int, default=size.seed)
    parser.add_argument("--queries", type=int, default=DEFAULT_QUERIES)
    parser.add_argument(
        "--workdir", help="where the mbox and database go (kept; default: a temp dir)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the default temp dir afterwards"
    )
    parser.add_argument(
        "--regenerate",
        action="store_true",
        help="write the mbox again even when the workdir holds one of this size",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also write cProfile stats (<phase>.prof) of import and graph to workdir",
    )
    parser.add_argument(
        "--json", action="store_true", help="also print the JSON report"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    return parser


# Orchestration --------------------------------------------------------------


def run_all(args: argparse.Namespace, workdir: Path) -> dict:
    """Run every phase in its own process and gather one report."""
    report: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "size": {
            "colleagues": args.colleagues,
            "contacts": args.contacts,
            "messages": args.messages,
            "seed": args.seed,
            "queries": args.queries,
        },
        "targets": TARGETS,
    }
    report["load_before"] = _load()
    started = time.perf_counter()
    for phase in PHASES:
        report[phase] = _run_phase(phase, args, workdir)
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["load_after"] = _load()

    baseline = report["baseline"]["parse_seconds"]
    imported = report["import"]
    imported["ratio_to_baseline"] = (
        round(imported["seconds"] / baseline, 2) if baseline else None
    )
    baseline_cpu = report["baseline"]["parse_cpu_seconds"]
    imported["cpu_ratio_to_baseline"] = (
        round(imported["cpu_seconds"] / baseline_cpu, 2) if baseline_cpu else None
    )
    report["peak_rss_mb"] = max(report[p]["peak_rss_mb"] for p in PHASES)
    report["verdict"] = {
        "import_ratio": imported["ratio_to_baseline"] is not None
        and imported["ratio_to_baseline"] <= TARGETS["import_ratio"],
        "graph_seconds": report["graph"]["build_seconds"] < TARGETS["graph_seconds"],
        "whoknows_p95_ms": report["graph"]["whoknows"]["p95_ms"]
        < TARGETS["whoknows_p95_ms"],
        "peak_rss_mb": report["peak_rss_mb"] < TARGETS["peak_rss_mb"],
    }
    return report


def _run_phase(phase: str, args: argparse.Namespace, workdir: Path) -> dict:
    command = [
        sys.executable, str(Path(__file__).resolve()), "--phase", phase,
        "--workdir", str(workdir), "--messages", str(args.messages),
        "--colleagues", str(args.colleagues), "--contacts", str(args.contacts),
        "--seed", str(args.seed), "--queries", str(args.queries),
    ]  # fmt: skip
    if args.regenerate:
        command.append("--regenerate")
    if args.profile:
        command.append("--profile")
    if args.verbose:
        command.append("--verbose")
        print(f"[{time.strftime('%H:%M:%S')}] {phase} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark phase {phase} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _load() -> list[float]:
    """1/5/15-minute load averages: other work on the machine skews wall times."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": _sqlite_version(),
        "commit": _commit(),
    }


def _commit() -> str | None:
    """The checkout's commit, marked "+dirty" when the measured code has edits."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "storage"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if changed else "")


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def _cpu_seconds() -> float:
    """CPU time of this process so far, all threads (SQLite runs in its own)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _size(args: argparse.Namespace) -> FirmSize:
    return FirmSize(args.colleagues, args.contacts, args.messages, args.seed)


def _paths(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    workdir = Path(args.workdir)
    return workdir / "synthetic.mbox", workdir / "manifest.json", workdir / "bench.db"


# Phases (each runs in a fresh process) ---------------------------------------


def phase_generate(args: argparse.Namespace) -> dict:
    mbox, manifest_path, _ = _paths(args)
    size = _size(args)
    if not args.regenerate and mbox.is_file() and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        wanted = asdict(size) | {
            "requested": size.messages,
            "bytes": mbox.stat().st_size,
        }
        wanted.pop("messages")
        if all(manifest.get(k) == v for k, v in wanted.items()):
            manifest["reused"] = True
            return manifest
    manifest = asdict(generate(mbox, size))
    manifest["requested"] = size.messages
    manifest_path.write_text(json.dumps(manifest, indent=2))
    manifest["reused"] = False
    return manifest


def phase_baseline(args: argparse.Namespace) -> dict:
    """A bare standard-library header parse of every message: the yardstick."""
    from email.parser import BytesHeaderParser
    from email.policy import compat32

    from bot.capture.mbox import iter_mbox

    mbox, _, _ = _paths(args)
    # First the split alone (this also warms the page cache for both passes).
    started = time.perf_counter()
    count = sum(1 for _ in iter_mbox(mbox))
    split_seconds = time.perf_counter() - started

    parser = BytesHeaderParser(policy=compat32)
    cpu = _cpu_seconds()
    started = time.perf_counter()
    parsed = 0
    for raw in iter_mbox(mbox):
        parser.parsebytes(raw.headers)
        parsed += 1
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    return {
        "splitter": "bot.capture.mbox.iter_mbox",
        "messages": parsed,
        "split_messages": count,
        "split_seconds": round(split_seconds, 2),
        "parse_seconds": round(seconds, 2),
        "parse_cpu_seconds": round(cpu, 2),
        "messages_per_second": round(parsed / seconds) if seconds else None,
    }


def phase_import(args: argparse.Namespace) -> dict:
    """`rapport import mbox` in-process, into a fresh database file."""
    from bot.capture.imports import run_file_import
    from bot.settings import Settings
    from storage.connection import open_db
    from storage.interactions import count_rows

    mbox, _, db_path = _paths(args)
    for leftover in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        leftover.unlink(missing_ok=True)
    settings = Settings(db_path=db_path, internal_domains=(INTERNAL_DOMAIN,))

    def run():
        return asyncio.run(run_file_import(settings, kind="mbox", path=mbox))

    cpu = _cpu_seconds()
    started = time.perf_counter()
    summary = _profiled(args, "import", run)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu

    async def rows() -> dict[str, int]:
        async with open_db(db_path) as db:
            return await count_rows(db)

    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "messages_per_second": round(summary.seen / seconds) if seconds else None,
        "seen": summary.seen,
        "imported": summary.imported,
        "duplicates": summary.duplicates,
        "automated": summary.automated,
        "excluded": summary.excluded,
        "bad": dict(summary.bad),
        "bad_dates": summary.bad_dates,
        "rows": asyncio.run(rows()),
        "db_mb": round(_db_bytes(db_path) / 2**20, 1),
    }


def _db_bytes(db_path: Path) -> int:
    paths = (db_path, Path(f"{db_path}-wal"))
    return sum(p.stat().st_size for p in paths if p.exists())


def phase_graph(args: argparse.Namespace) -> dict:
    """Build the graph as of the end of the synthetic period, then ask it questions."""
    from bot.graph import build_graph
    from bot.queries import build_index, who_knows
    from storage.connection import open_db

    _, _, db_path = _paths(args)

    async def build():
        async with open_db(db_path) as db:
            return await build_graph(db, as_of=END)

    cpu = _cpu_seconds()
    started = time.perf_counter()
    graph = _profiled(args, "graph", lambda: asyncio.run(build()))
    build_seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    build_rss = _peak_rss_mb()

    started = time.perf_counter()
    index = build_index(graph)
    index_seconds = time.perf_counter() - started

    population = make_population(_size(args))
    queries = sample_queries(population, args.queries, seed=args.seed)
    del population
    timings = []
    outcomes = {"ranked": 0, "choices": 0, "suggestions": 0, "nothing": 0}
    for query in queries:
        started = time.perf_counter()
        answer = who_knows(graph, index, query, limit=5)
        timings.append((time.perf_counter() - started) * 1000)
        if answer.people:
            outcomes["ranked"] += 1
        elif answer.choices:
            outcomes["choices"] += 1
        elif answer.suggestions:
            outcomes["suggestions"] += 1
        else:
            outcomes["nothing"] += 1

    timings.sort()
    return {
        "build_seconds": round(build_seconds, 2),
        "build_cpu_seconds": round(cpu, 2),
        "build_seconds_inside": round(graph.build_seconds, 2),
        "build_peak_rss_mb": build_rss,
        "people": len(graph.people),
        "organisations": len(graph.orgs),
        "relationships": sum(
            1 for *_, d in graph.graph.edges(data=True) if "stats" in d
        ),
        "edges": graph.graph.number_of_edges(),
        "index_seconds": round(index_seconds, 2),
        "whoknows": {
            "queries": len(timings),
            "p50_ms": round(_percentile(timings, 50), 2),
            "p95_ms": round(_percentile(timings, 95), 2),
            "p99_ms": round(_percentile(timings, 99), 2),
            "max_ms": round(timings[-1], 2) if timings else None,
            "mean_ms": round(statistics.fmean(timings), 2) if timings else None,
            "outcomes": outcomes,
        },
    }


def _percentile(sorted_values: list[float], percent: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * percent // 100))
    return sorted_values[int(rank) - 1]


def _profiled(args: argparse.Namespace, name: str, work):
    if not args.profile:
        return work()
    import cProfile

    profile = cProfile.Profile()
    try:
        return profile.runcall(work)
    finally:
        profile.dump_stats(str(Path(args.workdir) / f"{name}.prof"))


PHASE_RUNNERS = {
    "generate": phase_generate,
    "baseline": phase_baseline,
    "import": phase_import,
    "graph": phase_graph,
}


# Report ---------------------------------------------------------------------


def format_table(report: dict) -> str:
    size, gen, base = report["size"], report["generate"], report["baseline"]
    imp, graph = report["import"], report["graph"]
    who, verdict, targets = graph["whoknows"], report["verdict"], report["targets"]
    machine_ = report["machine"]

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    rows = [
        ("phase", "seconds", "msg/s", "peak RSS", "target"),
        (
            f"generate mbox ({gen['bytes'] / 2**20:,.0f} MB)"
            + (" [reused]" if gen.get("reused") else ""),
            f"{gen['seconds']:.1f}", "", f"{gen['peak_rss_mb']:.0f} MB", "",
        ),
        (
            "split only (iter_mbox)", f"{base['split_seconds']:.1f}",
            f"{base['split_messages'] / base['split_seconds']:,.0f}"
            if base["split_seconds"] else "", "", "",
        ),
        (
            "baseline: compat32 header parse", f"{base['parse_seconds']:.1f}",
            f"{base['messages_per_second']:,}", f"{base['peak_rss_mb']:.0f} MB", "",
        ),
        (
            f"import ({imp['ratio_to_baseline']}x baseline)", f"{imp['seconds']:.1f}",
            f"{imp['messages_per_second']:,}", f"{imp['peak_rss_mb']:.0f} MB",
            f"<= {targets['import_ratio']}x {mark(verdict['import_ratio'])}",
        ),
        (
            "graph build", f"{graph['build_seconds']:.1f}", "",
            f"{graph['build_peak_rss_mb']:.0f} MB",
            f"< {targets['graph_seconds']:.0f} s {mark(verdict['graph_seconds'])}",
        ),
        (
            f"whoknows p50 / p95 ({who['queries']} queries)",
            f"{who['p50_ms']:.1f} / {who['p95_ms']:.1f} ms", "",
            f"{graph['peak_rss_mb']:.0f} MB",
            f"p95 < {targets['whoknows_p95_ms']:.0f} ms "
            f"{mark(verdict['whoknows_p95_ms'])}",
        ),
    ]  # fmt: skip
    widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
    lines = [
        f"Rapport benchmark, {report['date']}: {size['messages']:,} messages, "
        f"{size['colleagues']:,} colleagues, {size['contacts']:,} contacts "
        f"(seed {size['seed']})",
        f"machine: {machine_['nproc']} CPUs, Python {machine_['python']}, "
        f"SQLite {machine_['sqlite']}, {machine_['platform']}, "
        f"commit {machine_['commit']}",
        "",
    ]
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(
                str(cell).ljust(widths[i]) if i == 0 else str(cell).rjust(widths[i])
                for i, cell in enumerate(row)
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += [
        "",
        f"peak RSS of any phase: {report['peak_rss_mb']:.0f} MB "
        f"(target < {targets['peak_rss_mb']:.0f} MB {mark(verdict['peak_rss_mb'])})",
        f"import: {imp['imported']:,} imported, {imp['duplicates']:,} duplicates, "
        f"{imp['automated']:,} automated, {sum(imp['bad'].values()):,} bad; "
        f"database {imp['db_mb']:,.0f} MB",
        f"graph: {graph['people']:,} people, {graph['organisations']:,} organisations, "
        f"{graph['relationships']:,} colleague-contact relationships; "
        f"index {graph['index_seconds']:.1f} s",
        f"whoknows: p99 {who['p99_ms']:.1f} ms, max {who['max_ms']:.1f} ms; "
        + ", ".join(f"{v} {k}" for k, v in who["outcomes"].items()),
        f"CPU seconds (all threads): baseline {base['parse_cpu_seconds']:.1f}, "
        f"import {imp['cpu_seconds']:.1f} ({imp['cpu_ratio_to_baseline']}x), "
        f"graph build {graph['build_cpu_seconds']:.1f}",
        f"total wall time {report['total_seconds']:.0f} s; load average "
        f"{report['load_before'][0]:.2f} before, {report['load_after'][0]:.2f} after",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
