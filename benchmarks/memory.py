"""Benchmark 2: memory while streaming one big file (200 MB; sparse) through each middleware.

One fresh subprocess per competitor and mode (``benchmarks._memchild``), so one measurement never
inherits another's heap.  Modes: without ``wsgi.file_wrapper`` (the middleware's own block
iterator) and with it.  Target: ours grows by less than 5 MB, by tracemalloc peak and by RSS
high-water, in both modes.  Competitors are reported for context only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import (
    BENCH_DIR,
    LEGACY,
    MISS,
    OURS,
    PASS,
    WERKZEUG,
    WHITENOISE,
    Row,
    Settings,
)
from benchmarks._data import ensure_memory_store
from benchmarks._legacy import Legacy
from benchmarks._memchild import CONTROL
from benchmarks._wsgi import unavailable

Log = Callable[[str], None]
LIMIT_MB = 5.0


def _child(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks._memchild", *args],
        cwd=BENCH_DIR.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"exit {proc.returncode}: {tail[0]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _read_through(path: Path) -> None:
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


def run(settings: Settings, legacy: Legacy | None, log: Log) -> tuple[list[Row], dict[str, Any]]:
    store = ensure_memory_store(settings.data_dir, settings.memory_file_mb)
    _read_through(store.root.joinpath(*store.big.segments))  # same page cache for all
    names = [OURS, WERKZEUG, WHITENOISE] + ([LEGACY] if legacy else [])
    problems = {name: unavailable(name) for name in names}
    rows: list[Row] = []
    details: list[dict[str, Any]] = []
    for wrapper in (False, True):
        scenario = f"{settings.memory_file_mb} MB, " + (
            "file_wrapper" if wrapper else "block iterator"
        )
        for name in [*names, *([CONTROL] if not wrapper else [])]:
            trace = Row("memory", scenario, name, "tracemalloc peak", "MB")
            rss = Row("memory", scenario, name, "RSS growth", "MB")
            if name == OURS:
                trace.target = rss.target = f"< {LIMIT_MB:g} MB"
            problem = problems.get(name, "")
            if not problem:
                log(f"memory: {name}, {scenario}")
                args = [
                    name,
                    str(store.root),
                    store.big.url_path,
                    store.tiny.url_path,
                    str(store.big_size),
                    "1" if wrapper else "0",
                    str(legacy.source_dir) if legacy else "",
                ]
                try:
                    result = _child(args)
                except Exception as exc:
                    problem = f"error: {exc}"
                else:
                    details.append(result)
                    trace.value = result["tracemalloc_peak_mb"]
                    rss.value = result["rss_growth_mb"]
                    rss.note = f"{result['bytes'] / 1e6 / result['seconds']:,.0f} MB/s streamed"
                    if name == CONTROL:
                        trace.note = rss.note = (
                            "harness check: reads the whole file into memory, so both measures "
                            f"must show ~{settings.memory_file_mb} MB"
                        )
                    if name == OURS:
                        for row in (trace, rss):
                            assert row.value is not None
                            row.verdict = PASS if row.value < LIMIT_MB else MISS
            if problem:
                trace.note = rss.note = problem
                if trace.target:
                    trace.verdict = rss.verdict = "n/a"
            rows += [trace, rss]
    methods = sorted({d["rss_method"] for d in details})
    return rows, {"memory": {"file": str(store.root), "rss_method": methods, "runs": details}}
