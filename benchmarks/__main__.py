"""``python -m benchmarks [--quick] [--only SECTION]``, SECTION one of :data:`SECTIONS`.

Prints a table (competitor, metric, value, ratio to ours, target, PASS/MISS) and writes it as
JSON to ``benchmarks/results/``.  A MISS is reported, never raised: the exit status is 0 unless
the harness itself breaks.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks._common import (
    DEFAULT_DATA_DIR,
    DEFAULT_RESULTS_DIR,
    Row,
    Settings,
    attempt,
    format_table,
    summary_line,
    write_report,
)

SECTIONS = ("serve", "memory", "urls", "asgi", "e2e", "thumbnails", "entities", "profile")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="imageattach benchmarks: ratios against competitors measured in the same run",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small store, few rounds: a smoke run (< 60 s)"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SECTION",
        help=f"run only these sections ({', '.join(SECTIONS)}); repeat or comma-separate. "
        "Default: all of them, but profile with --quick",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR)
    parser.add_argument(
        "--no-legacy",
        action="store_true",
        help="leave sqlalchemy-imageattach 1.1.0 out (no download)",
    )
    parser.add_argument("--store-size", type=int, help="number of small JPEGs in the store")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per scenario")
    parser.add_argument("--memory-mb", type=int, help="size of the streamed file in MiB")
    parser.add_argument(
        "--profile-requests", type=int, help="small-file requests under cProfile (profile)"
    )
    parser.add_argument(
        "--asgi-concurrency",
        type=int,
        default=32,
        help="requests in flight at once in the asgi section's concurrent scenarios (32)",
    )
    parser.add_argument(
        "--e2e-seconds", type=int, help="length of each timed wrk run, e2e (5; 1 with --quick)"
    )
    parser.add_argument(
        "--e2e-rounds", type=int, help="interleaved rounds of wrk runs, e2e (3; 1 with --quick)"
    )
    parser.add_argument(
        "--e2e-connections", type=int, default=32, help="wrk connections, e2e (32)"
    )
    args = parser.parse_args(argv)
    only: list[str] = []
    for item in args.only:
        only += [s.strip() for s in item.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    args.sections = only or [s for s in SECTIONS if not (args.quick and s == "profile")]
    return args


def _settings(args: argparse.Namespace) -> Settings:
    quick = bool(args.quick)
    rounds = args.rounds or (5 if quick else 9)
    return Settings(
        quick=quick,
        data_dir=args.data_dir.resolve(),
        results_dir=args.results_dir.resolve(),
        legacy=not args.no_legacy,
        n_small=args.store_size or (200 if quick else 2000),
        n_large=2 if quick else 4,
        rounds=rounds,
        requests_per_batch=1000 if quick else 4000,
        large_requests_per_batch=8 if quick else 60,
        memory_file_mb=args.memory_mb or (50 if quick else 200),
        url_calls_per_batch=200_000,
        url_batch_seconds=0.04 if quick else 0.25,
        url_rounds=rounds,
        profile_requests=args.profile_requests or (2_000 if quick else 20_000),
        asgi_concurrency=max(1, args.asgi_concurrency),
        asgi_batch_seconds=0.08 if quick else 0.4,
        e2e_seconds=max(1, args.e2e_seconds or (1 if quick else 5)),
        e2e_rounds=max(1, args.e2e_rounds or (1 if quick else 3)),
        e2e_connections=max(1, args.e2e_connections),
        e2e_warmup=not quick,
    )


def _guarded(
    name: str, settings: Settings, log: Callable[[str], None]
) -> tuple[list[Row], dict[str, Any]]:
    import importlib

    try:
        module = importlib.import_module(f"benchmarks.{name}")
        section_rows, section_extra = module.run(settings, log)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log(f"{name}: section failed: {error}")
        row = Row(name, "all", "-", "throughput", "req/s", note=f"error: section failed: {error}")
        return [row], {name: {"error": error}}
    return section_rows, section_extra


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    settings = _settings(args)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    legacy = None
    legacy_problem = ""
    if settings.legacy and set(args.sections) & {"serve", "memory", "urls"}:
        from benchmarks import _legacy

        try:
            legacy = _legacy.fetch_and_load(settings.data_dir)
        except _legacy.LegacyUnavailableError as exc:
            legacy_problem = str(exc)
            log(f"sqlalchemy-imageattach 1.1.0 left out: {exc}")
        else:
            log(f"sqlalchemy-imageattach 1.1.0 loaded as {_legacy.ALIAS} from {legacy.source_dir}")

    rows: list[Row] = []
    extra: dict[str, Any] = {"sections": args.sections, "legacy_problem": legacy_problem}
    if "serve" in args.sections:
        from benchmarks import serve

        section_rows, section_extra = serve.run(settings, legacy, log)
        rows += section_rows
        extra.update(section_extra)
    if "memory" in args.sections:
        from benchmarks import memory

        section_rows, section_extra = memory.run(settings, legacy, log)
        rows += section_rows
        extra.update(section_extra)
    if "urls" in args.sections:
        from benchmarks import urls

        section_rows, section_extra = urls.run(settings, legacy, log)
        rows += section_rows
        extra.update(section_extra)
    for name in ("asgi", "e2e", "thumbnails", "entities"):
        if name in args.sections:
            # These depend on packages and programs that may be missing or half-written: a
            # failure is reported on a row, and the rest of the run goes on.
            section_rows, section_extra = _guarded(name, settings, log)
            rows += section_rows
            extra.update(section_extra)
    profile_text = ""
    if "profile" in args.sections:
        from benchmarks import serve, urls

        texts = []
        for profile in (serve.profile_ours, urls.profile_ours):
            text, error = attempt(partial(profile, settings, log))
            if text is None:
                log(f"profile skipped: {error}")
            else:
                texts.append(text)
        profile_text = "\n".join(texts)
        extra["profile"] = profile_text

    extra["elapsed_s"] = round(time.perf_counter() - started, 1)
    if rows:
        print(format_table(rows))
        print()
        print(summary_line(rows))
    if profile_text:
        print()
        print(profile_text)
    path = write_report(settings, rows, extra)
    if profile_text:
        (path.with_suffix("")).with_name(path.stem + "-profile.txt").write_text(
            profile_text, encoding="utf-8"
        )
    print(f"\nwrote {path} ({extra['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
