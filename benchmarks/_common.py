"""Shared pieces: paths, timing statistics, result rows, the table and the JSON report."""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = BENCH_DIR / ".data"
DEFAULT_RESULTS_DIR = BENCH_DIR / "results"

OURS = "ours"
WERKZEUG = "werkzeug"
WHITENOISE = "whitenoise"
LEGACY = "1.1.0"
STARLETTE = "starlette"
STARLETTE_BARE = "starlette-bare"
NGINX = "nginx"
#: Not a competitor but a bound: the least a request can cost under the same rules.
FLOOR = "floor"

PASS = "PASS"
MISS = "MISS"


@dataclass(frozen=True)
class Settings:
    """What one run measures and how hard."""

    quick: bool
    data_dir: Path
    results_dir: Path
    legacy: bool
    # serving
    n_small: int
    n_large: int
    rounds: int
    requests_per_batch: int
    large_requests_per_batch: int
    # memory
    memory_file_mb: int
    # urls
    url_calls_per_batch: int  # at most
    url_batch_seconds: float  # aim: the slowest competitor's batch takes about this long
    url_rounds: int
    # profile
    profile_requests: int
    # asgi (in-process ASGI)
    asgi_concurrency: int
    asgi_batch_seconds: float  # aim: the slowest competitor's batch takes about this long
    # e2e (servers on 127.0.0.1 under wrk)
    e2e_seconds: int  # per wrk run
    e2e_rounds: int
    e2e_connections: int
    e2e_warmup: bool  # one untimed wrk run per server and scenario first


@dataclass
class Row:
    """One measured figure of one competitor, as printed and as written to JSON."""

    section: str
    scenario: str
    competitor: str
    metric: str
    unit: str
    value: float | None = None
    samples: list[float] = field(default_factory=list)
    # How many times better ours is (> 1: ours wins): the median over rounds of the per-round
    # ratio ours / competitor, both measured in the same round (paired, so slow drift of the
    # machine cancels out).
    ratio: float | None = None
    ratio_samples: list[float] = field(default_factory=list)
    target: str = ""
    verdict: str = ""
    note: str = ""

    @property
    def spread_pct(self) -> float | None:
        """Median absolute deviation of the samples, in percent of their median."""
        if len(self.samples) < 2 or not self.value:
            return None
        mad = statistics.median(abs(x - self.value) for x in self.samples)
        return mad / self.value * 100.0

    def set_ratio(self, ours: Sequence[float]) -> None:
        """Pair ``ours`` with this row's samples round by round (higher is better)."""
        self.ratio_samples = paired_ratios(ours, self.samples)
        self.ratio = median(self.ratio_samples) if self.ratio_samples else None


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """The ratio of each round's two figures, both measured in that round."""
    return [n / d for n, d in zip(numerators, denominators, strict=True) if d > 0]


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float | None:
    """The median of :func:`paired_ratios`; ``None`` when no round has a figure to divide by."""
    ratios = paired_ratios(numerators, denominators)
    return median(ratios) if ratios else None


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collect, then keep the cyclic GC off for a timed loop; collect again afterwards."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


def interleaved_rounds(
    runners: dict[str, Callable[[], float]],
    rounds: int,
) -> dict[str, list[float]]:
    """Run every runner once per round, round robin, rotating the order each round.

    Each runner does one timed batch and returns its own figure (e.g. requests/s).  Rotation
    keeps any drift (thermal, page cache, allocator state) from always favouring one name.
    """
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for order in round_orders(list(runners), rounds):
        for name in order:
            samples[name].append(runners[name]())
    return samples


async def interleaved_rounds_async(
    runners: dict[str, Callable[[], Awaitable[float]]],
    rounds: int,
) -> dict[str, list[float]]:
    """:func:`interleaved_rounds` for runners that are coroutines, awaited on the running loop."""
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for order in round_orders(list(runners), rounds):
        for name in order:
            samples[name].append(await runners[name]())
    return samples


def round_orders(names: list[str], rounds: int) -> list[list[str]]:
    """The order of each round: round robin, rotated by one every round."""
    orders = []
    for r in range(rounds):
        shift = r % len(names) if names else 0
        orders.append(names[shift:] + names[:shift])
    return orders


def attempt(fn: Callable[[], T]) -> tuple[T | None, str]:
    """Call ``fn``; return its value and "", or None and what went wrong (never raises)."""
    try:
        return fn(), ""
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def judge(ratio: float | None, minimum: float) -> str:
    if ratio is None or math.isnan(ratio):
        return ""
    return PASS if ratio >= minimum else MISS


# -- the table -------------------------------------------------------------------------------


def _fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in {"MB", "MB/s"}:
        return f"{value:,.2f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def format_table(rows: Sequence[Row]) -> str:
    header = (
        "section",
        "scenario",
        "competitor",
        "metric",
        "value",
        "±MAD",
        "ours is",
        "target",
        "verdict",
        "note",
    )
    lines: list[tuple[str, ...]] = [header]
    for row in rows:
        spread = row.spread_pct
        lines.append(
            (
                row.section,
                row.scenario,
                row.competitor,
                f"{row.metric} ({row.unit})",
                _fmt_value(row.value, row.unit),
                "-" if spread is None else f"±{spread:.1f}%",
                "-" if row.ratio is None else f"{row.ratio:.2f}x",
                row.target or "-",
                row.verdict or "-",
                row.note,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    out = []
    numeric = {4, 5, 6}
    for n, line in enumerate(lines):
        cells = [
            line[i].rjust(widths[i]) if i in numeric and n else line[i].ljust(widths[i])
            for i in range(len(widths))
        ]
        out.append("  ".join(cells) + ("  " + line[-1] if line[-1] else ""))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def summary_line(rows: Sequence[Row]) -> str:
    judged = [r for r in rows if r.verdict in {PASS, MISS}]
    passed = sum(r.verdict == PASS for r in judged)
    missed = [f"{r.section}/{r.scenario}/{r.competitor}" for r in judged if r.verdict == MISS]
    text = f"targets: {passed} PASS, {len(missed)} MISS"
    if missed:
        text += " (" + ", ".join(missed) + ")"
    return text


# -- the JSON report -------------------------------------------------------------------------


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=BENCH_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def environment() -> dict[str, Any]:
    return {
        "python": sys.version,
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "git_commit": _git_commit(),
        "versions": {
            dist: _version(dist)
            for dist in (
                "imageattach-core",
                "imageattach-wsgi",
                "imageattach-asgi",
                "werkzeug",
                "whitenoise",
                "starlette",
                "anyio",
                "uvicorn",
                "gunicorn",
                "pillow",
            )
        },
    }


def write_report(
    settings: Settings,
    rows: Sequence[Row],
    extra: dict[str, Any],
) -> Path:
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    payload = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()
        },
        "environment": environment(),
        "rows": [
            {
                **asdict(r),
                "mad_pct": r.spread_pct,
                "min": min(r.samples) if r.samples else None,
                "max": max(r.samples) if r.samples else None,
            }
            for r in rows
        ],
        **extra,
    }
    text = json.dumps(payload, indent=2, sort_keys=False) + "\n"
    kind = "quick" if settings.quick else "full"
    path = settings.results_dir / f"bench-{kind}-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (settings.results_dir / f"latest-{kind}.json").write_text(text, encoding="utf-8")
    return path


# -- peak memory, for the child processes of memory and thumbnails ---------------------------


def proc_status_kb(field: str) -> int | None:
    """A ``/proc/self/status`` field in kB (VmRSS, VmHWM), or None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_hwm() -> bool:
    """Reset the RSS high-water mark (VmHWM) to the current RSS; False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def maxrss_kb() -> int:
    """The peak RSS of this process so far, in kB."""
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage // 1024 if sys.platform == "darwin" else usage
