"""The speed benchmark runs end to end at a tiny size and reports every figure."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.synthetic import FirmSize, generate

REPO = Path(__file__).resolve().parents[1]
TINY = ["--messages", "2000", "--colleagues", "20", "--contacts", "200"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    """One tiny run shared by the tests that read its report."""
    workdir = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "benchmark.py"), *TINY,
         "--queries", "500", "--workdir", str(workdir), "--json"],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table, _, report = done.stdout.partition("\n{")
    assert "whoknows p50 / p95" in table
    return json.loads("{" + report)


def test_report_has_every_figure_when_run_at_tiny_size(report):
    baseline, imported, graph = report["baseline"], report["import"], report["graph"]
    assert baseline["splitter"] == "bot.capture.mbox.iter_mbox"
    assert baseline["parse_seconds"] > 0 and baseline["messages_per_second"] > 0
    assert imported["seconds"] > 0 and imported["messages_per_second"] > 0
    assert imported["ratio_to_baseline"] > 0
    assert graph["build_seconds"] >= 0 and graph["relationships"] > 0
    who = graph["whoknows"]
    assert who["queries"] == 500
    assert 0 < who["p50_ms"] <= who["p95_ms"] <= who["max_ms"]
    assert who["outcomes"]["ranked"] > 0
    for phase in ("generate", "baseline", "import", "graph"):
        assert report[phase]["peak_rss_mb"] > 0
    assert report["peak_rss_mb"] >= graph["peak_rss_mb"]
    assert set(report["verdict"]) == set(report["targets"])
    assert report["machine"]["nproc"] >= 1 and report["machine"]["python"]


def test_every_message_accounted_for_when_synthetic_mbox_imported(report):
    written, imported = report["generate"], report["import"]
    assert written["messages"] == 2000 == imported["seen"]
    assert imported["automated"] == written["automated"] > 0
    assert imported["duplicates"] == written["duplicates"] > 0
    assert imported["bad"] == {}
    assert imported["imported"] == imported["rows"]["interactions"]
    assert imported["rows"]["organisations"] > 1


def test_same_bytes_when_generated_twice_from_one_seed(tmp_path):
    size = FirmSize(colleagues=10, contacts=50, messages=300, seed=7)
    digests = []
    for name in ("a.mbox", "b.mbox"):
        generate(tmp_path / name, size)
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    generate(tmp_path / "c.mbox", FirmSize(10, 50, 300, seed=8))
    other = hashlib.sha256((tmp_path / "c.mbox").read_bytes()).hexdigest()

    assert digests[0] == digests[1] != other
