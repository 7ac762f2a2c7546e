"""Benchmark 4: in-process ASGI serving, ours against Starlette's ``StaticFiles``.

Ours is ``imageattach.asgi.StaticServerMiddleware(app, '/__images__', store_dir)``; the
competitor is ``StaticFiles(directory=store_dir)`` mounted at ``/__images__`` in a
``Starlette`` application (``starlette``), and for context the same ``StaticFiles`` alone, given
the scope a ``Mount`` would give it (``starlette-bare``: no middleware stack, no router).

Every request goes through the same hand-written driver (``benchmarks._asgi``) on one event
loop: the whole section runs in one root task, as a server's requests do, so anyio's worker
threads (which Starlette reads files in) live across batches.  Scenarios, each at a fixed
concurrency of ``--asgi-concurrency`` requests in flight and sequentially:

* ``small 200``: GETs of random small JPEGs, body received fully;
* ``304``: ``If-None-Match`` with the ETag the same competitor returned;
* ``404``: keys missing from the store (concurrent only; ``starlette-bare`` raises
  ``HTTPException`` there, which only the ``Starlette`` application turns into a 404).

The ``304`` scenarios also time ``floor``, no competitor but a bound: an ASGI app that makes the
one ``os.stat`` SPEC 10.4 asks of every request on a worker thread (one hop, the cheapest
asyncio has: file I/O never runs on the event loop) and sends a fixed 304.  No adapter that keeps
both rules can be faster, so its ratio to Starlette (in its note) is the most any can reach.

Targets: ours >= 5x ``starlette`` for small 200s and for 304s.
"""

from __future__ import annotations

import asyncio
import os
import queue
import random
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from time import perf_counter_ns
from typing import Any

from benchmarks._asgi import (
    SPEC_VERSION,
    ASGIApp,
    HarnessError,
    OursUnavailableError,
    Req,
    batch_runner,
    make_asgi_app,
    ours_middleware_class,
    request,
)
from benchmarks._common import (
    FLOOR,
    OURS,
    STARLETTE,
    STARLETTE_BARE,
    Row,
    Settings,
    attempt,
    interleaved_rounds_async,
    judge,
    median,
    paired_ratio,
)
from benchmarks._data import URL_PREFIX, Key, ServeStore, ensure_serve_store

Log = Callable[[str], None]
SECTION = "asgi"

# base scenario -> competitor -> minimum ratio ours/competitor
TARGETS: dict[str, dict[str, float]] = {
    "small 200": {STARLETTE: 5.0},
    "304": {STARLETTE: 5.0},
}
NOTES = {STARLETTE_BARE: "StaticFiles alone: no Starlette app, middleware or router"}
_MIN_BATCH = 100
_CALIBRATION_REQUESTS = 300


@dataclass
class Competitor:
    name: str
    app: ASGIApp | None
    problem: str = ""  # why it is not measured at all
    skip: dict[str, str] = field(default_factory=dict)  # base scenario -> why skipped
    etags: dict[str, bytes] = field(default_factory=dict)  # url path -> its ETag
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    label: str  # as printed, e.g. "small 200 c=32"
    base: str  # "small 200", "304", "404": what TARGETS and Competitor.skip are keyed by
    concurrency: int
    reqs_for: Callable[[Competitor], list[Req]]


def floor_app(root: str, prefix: str) -> ASGIApp:
    """One ``os.stat`` on a worker thread and a fixed 304: the least a request can cost.

    The hop is the cheapest asyncio has: a put on a queue that one thread waits on, and
    ``loop.call_soon_threadsafe`` back (no executor, no concurrent future).
    """
    base = root.rstrip("/") + "/"
    skip = len(prefix.rstrip("/")) + 1
    start = {
        "type": "http.response.start",
        "status": 304,
        "headers": [
            (b"etag", b'"0-0"'),
            (b"x-content-type-options", b"nosniff"),
            (b"cache-control", b"public, max-age=60"),
        ],
    }
    end = {"type": "http.response.body", "body": b""}
    jobs: queue.SimpleQueue[tuple[Any, Any, str]] = queue.SimpleQueue()

    def worker() -> None:
        while True:
            loop, future, path = jobs.get()
            loop.call_soon_threadsafe(future.set_result, os.stat(path))

    threading.Thread(target=worker, name="bench-floor", daemon=True).start()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        jobs.put((loop, future, base + scope["path"][skip:]))
        await future
        await send(dict(start))
        await send(dict(end))

    return app  # type: ignore[return-value]


def _text_headers(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


async def _verify(comp: Competitor, store: ServeStore, etag_keys: Sequence[Key]) -> None:
    """Untimed correctness pass; it also warms the page cache and each competitor's caches."""
    app = comp.app
    assert app is not None
    for key in [*store.small[:16], *store.large]:
        ex = await request(app, Req(key.url_path))
        if ex.status != 200 or not ex.complete or ex.nbytes != store.size_of(key):
            comp.problem = (
                f"GET {key.url_path}: {ex.status}, {ex.nbytes} bytes "
                f"(want 200, {store.size_of(key)})"
            )
            return
    comp.info["headers_200"] = _text_headers(ex.headers)

    for key in etag_keys:
        ex = await request(app, Req(key.url_path))
        etag = ex.header(b"etag")
        if etag is None:
            comp.skip["304"] = "sends no ETag"
            break
        comp.etags[key.url_path] = etag
    if "304" not in comp.skip:
        key = etag_keys[0]
        ex = await request(app, Req(key.url_path, ((b"if-none-match", comp.etags[key.url_path]),)))
        comp.info["headers_304"] = _text_headers(ex.headers)
        if ex.status != 304 or ex.nbytes:
            comp.skip["304"] = f"answers {ex.status} ({ex.nbytes} bytes) to its own ETag"

    for key in store.missing[:16]:
        try:
            ex = await request(app, Req(key.url_path))
        except Exception as exc:
            comp.skip["404"] = f"GET {key.url_path} raises {type(exc).__name__}"
            break
        if ex.status != 404:
            comp.skip["404"] = f"GET {key.url_path}: {ex.status}, want 404"
            break


def _skipped_rows(reason: str) -> list[Row]:
    """The section could not run at all: say so on every row that has a target."""
    rows = []
    for base, targets in TARGETS.items():
        for name, minimum in targets.items():
            rows.append(
                Row(
                    SECTION,
                    base,
                    name,
                    "throughput",
                    "req/s",
                    target=f">= {minimum:g}x",
                    verdict="n/a",
                    note=f"section skipped: {reason}",
                )
            )
    return rows


async def _calibrate(
    runners: dict[str, Callable[[], Awaitable[float]]],
) -> tuple[dict[str, float], dict[str, str]]:
    """Run each calibration runner once (untimed warm-up); its rate, or why it failed."""
    rates: dict[str, float] = {}
    failed: dict[str, str] = {}
    for name, runner in runners.items():
        rate, error = await _attempt(runner)
        if rate is None:
            failed[name] = f"error: {error}"
        else:
            rates[name] = rate
    return rates, failed


async def _attempt(runner: Callable[[], Awaitable[float]]) -> tuple[float | None, str]:
    try:
        return await runner(), ""
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


async def _main(
    settings: Settings, log: Log, store: ServeStore, comps: list[Competitor]
) -> tuple[list[Row], dict[str, int]]:
    rng = random.Random(2404)
    n_max = settings.requests_per_batch
    small_seq = [rng.choice(store.small) for _ in range(n_max)]
    missing_seq = [rng.choice(store.missing) for _ in range(n_max)]
    etag_keys = list(dict.fromkeys(small_seq))

    for comp in comps:
        if comp.app is None:
            continue
        try:
            await _verify(comp, store, etag_keys)
        except Exception as exc:
            comp.problem = f"error: {exc!r}"
        if comp.problem:
            log(f"  {comp.name}: not measured: {comp.problem}")
        for scenario, why in comp.skip.items():
            log(f"  {comp.name}: {scenario} skipped: {why}")

    ours = next((c for c in comps if c.name == OURS and c.app and not c.problem), None)
    if ours is not None and "304" not in ours.skip:
        floor = Competitor(FLOOR, floor_app(str(store.root), URL_PREFIX))
        floor.etags = ours.etags
        floor.skip = dict.fromkeys(("small 200", "404"), "times 304s only")
        comps.append(floor)

    def small(c: Competitor) -> list[Req]:
        return [Req(k.url_path, nbytes=store.size_of(k)) for k in small_seq]

    def not_modified(c: Competitor) -> list[Req]:
        return [
            Req(k.url_path, ((b"if-none-match", c.etags[k.url_path]),), status=304, nbytes=0)
            for k in small_seq
        ]

    def missing(c: Competitor) -> list[Req]:
        return [Req(k.url_path, status=404) for k in missing_seq]

    conc = settings.asgi_concurrency
    scenarios = [
        Scenario(f"small 200 c={conc}", "small 200", conc, small),
        Scenario("small 200 c=1", "small 200", 1, small),
        Scenario(f"304 c={conc}", "304", conc, not_modified),
        Scenario("304 c=1", "304", 1, not_modified),
        Scenario(f"404 c={conc}", "404", conc, missing),
    ]

    rows: list[Row] = []
    batch_sizes: dict[str, int] = {}
    for sc in scenarios:
        active = [
            c for c in comps if c.app is not None and not c.problem and sc.base not in c.skip
        ]
        reqs = {c.name: sc.reqs_for(c) for c in active}
        # Warm-up and calibration: the batch size makes the slowest competitor's batch take
        # about asgi_batch_seconds; every competitor then gets the same requests.
        rates, failed = await _calibrate(
            {
                c.name: batch_runner(c.app, reqs[c.name][:_CALIBRATION_REQUESTS], sc.concurrency)  # type: ignore[arg-type]
                for c in active
            }
        )
        n = n_max
        if rates:
            n = max(_MIN_BATCH, min(n_max, int(min(rates.values()) * settings.asgi_batch_seconds)))
        batch_sizes[sc.label] = n
        runners = {
            c.name: batch_runner(c.app, reqs[c.name][:n], sc.concurrency)  # type: ignore[arg-type]
            for c in active
            if c.name in rates
        }
        log(f"  {sc.label}: {len(runners)} competitors x {settings.rounds} rounds x {n} requests")
        samples: dict[str, list[float]] = {}
        try:
            samples = await interleaved_rounds_async(runners, settings.rounds)
        except HarnessError as exc:  # a wrong answer mid-run: the scenario is not comparable
            log(f"  {sc.label}: abandoned: {exc}")
            failed = dict.fromkeys(runners, f"error: {exc}") | failed
        for comp in comps:
            row = Row(SECTION, sc.label, comp.name, "throughput", "req/s")
            target = TARGETS.get(sc.base, {}).get(comp.name)
            if target is not None:
                row.target = f">= {target:g}x"
            if comp.name in samples:
                row.samples = samples[comp.name]
                row.value = median(row.samples)
                if OURS in samples:
                    row.set_ratio(samples[OURS])
                    if target is not None:
                        row.verdict = judge(row.ratio, target)
                row.note = NOTES.get(comp.name, "")
                if comp.name == FLOOR:
                    row.note = "one stat in one thread hop, a fixed 304: the bound of any adapter"
                    bound = paired_ratio(row.samples, samples.get(STARLETTE, []))
                    if bound is not None:
                        row.note += f"; {bound:.2f}x starlette"
            else:
                row.note = (
                    failed.get(comp.name) or comp.problem or comp.skip.get(sc.base, "skipped")
                )
            if row.target and not row.verdict:
                row.verdict = "n/a"
            rows.append(row)
    return rows, batch_sizes


def run(settings: Settings, log: Log) -> tuple[list[Row], dict[str, Any]]:
    log(f"asgi: store of {settings.n_small} small + {settings.n_large} large JPEGs")
    try:
        ours_middleware_class()
    except OursUnavailableError as exc:
        log(f"asgi: section skipped: {exc}")
        return _skipped_rows(str(exc)), {SECTION: {"skipped": str(exc)}}
    store = ensure_serve_store(settings.data_dir, settings.n_small, settings.n_large)
    comps = []
    for name in (OURS, STARLETTE, STARLETTE_BARE):
        app, error = attempt(partial(make_asgi_app, name, store.root))
        comps.append(Competitor(name, app, problem=f"unavailable: {error}" if error else ""))

    started = perf_counter_ns()
    rows, batch_sizes = asyncio.run(_main(settings, log, store, comps))
    extra = {
        SECTION: {
            "spec_version": SPEC_VERSION,
            "concurrency": settings.asgi_concurrency,
            "batch_seconds": settings.asgi_batch_seconds,
            "batch_requests": batch_sizes,
            "elapsed_s": round((perf_counter_ns() - started) / 1e9, 1),
            "competitors": {
                c.name: {"problem": c.problem, "skip": c.skip, **c.info} for c in comps
            },
        }
    }
    return rows, extra
