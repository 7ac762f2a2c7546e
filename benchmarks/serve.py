"""Benchmark 1: in-process WSGI serving, ours against Werkzeug, whitenoise and 1.1.0.

Scenarios, each run as interleaved round-robin rounds (median requests/s reported):

* ``small 200``: GETs of random small (~20 KB) JPEGs;
* ``large 200``: GETs of the ~2 MB JPEGs (reported in MB/s, no target);
* ``304``: conditional GETs with ``If-None-Match`` set to the ETag the same middleware returned
  (competitors that send no ETag, or do not answer 304 to it, are skipped: 1.1.0 does neither);
* ``404``: GETs of keys missing from the store (under the prefix; a middleware may answer 404
  itself or fall through to the wrapped app, which answers 404).

The ``304`` scenario also times ``floor``, no competitor but a bound: a WSGI app that makes the
one ``os.stat`` of the file SPEC 10.4 asks of every request and answers a fixed 304.  No
middleware in Python that keeps SPEC 10.4 can be faster, so its ratio to Werkzeug (in its note)
is the most any such middleware can reach here.  Ours comes close to it with the compiled check
of ``imageattach.core._speedups``: the same system call, without the ``stat_result`` that
``os.stat`` builds of it.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from time import perf_counter_ns
from typing import Any

from benchmarks._common import (
    FLOOR,
    LEGACY,
    OURS,
    WERKZEUG,
    WHITENOISE,
    Row,
    Settings,
    attempt,
    gc_paused,
    interleaved_rounds,
    judge,
    median,
    paired_ratio,
)
from benchmarks._data import URL_PREFIX, Key, ServeStore, ensure_serve_store
from benchmarks._legacy import Legacy
from benchmarks._wsgi import (
    Environ,
    FileWrapper,
    Recorder,
    WSGIApp,
    environ_template,
    make_app,
    request,
)

Log = Callable[[str], None]

# scenario -> competitor -> minimum ratio ours/competitor
TARGETS: dict[str, dict[str, float]] = {
    "small 200": {WERKZEUG: 2.0, LEGACY: 1.0},
    "304": {WERKZEUG: 5.0},
}


def floor_app(root: str, prefix: str) -> WSGIApp:
    """A stat of the file under ``root`` and a fixed 304: the least a request can cost."""
    base = root.rstrip("/") + "/"
    skip = len(prefix.rstrip("/")) + 1
    headers = [
        ("ETag", '"0-0"'),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", "public, max-age=60"),
    ]
    stat = os.stat

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        stat(base + environ["PATH_INFO"][skip:])
        start_response("304 Not Modified", list(headers))
        return []

    return app


def _file_check() -> str:
    """Which per-request file check ours runs: the compiled one, or ``os.stat``."""
    try:
        from imageattach.core import _confined
    except ImportError:
        return "unknown"
    return "compiled (imageattach.core._speedups)" if _confined._SAME_FILE else "os.stat"


class HarnessError(RuntimeError):
    """A competitor answered something other than what the scenario expects."""


@dataclass
class Competitor:
    name: str
    app: WSGIApp | None
    problem: str = ""  # why it is not measured at all
    skip: dict[str, str] = field(default_factory=dict)  # scenario -> why skipped
    etags: dict[str, str] = field(default_factory=dict)  # url path -> its ETag
    info: dict[str, Any] = field(default_factory=dict)


def batch_runner(
    app: WSGIApp,
    template: Environ,
    overlays: Sequence[dict[str, str]],
    expected_status: str,
) -> Callable[[], float]:
    """One timed batch: every overlay is one request; returns requests/s."""

    def run() -> float:
        rec = Recorder()
        copy = template.copy
        with gc_paused():
            start = perf_counter_ns()
            for overlay in overlays:
                env = copy()
                env.update(overlay)
                body = app(env, rec)
                for _chunk in body:
                    pass
                close = getattr(body, "close", None)
                if close is not None:
                    close()
            elapsed = perf_counter_ns() - start
        wrong = [s for s in rec.statuses if not s.startswith(expected_status)]
        if wrong or len(rec.statuses) != len(overlays):
            raise HarnessError(
                f"expected {expected_status} for all {len(overlays)} requests, "
                f"got {len(wrong)} others (first: {wrong[:1]})"
            )
        return len(overlays) * 1e9 / elapsed

    return run


def _describe(body: object) -> str:
    if isinstance(body, FileWrapper):
        return "wsgi.file_wrapper"
    cls = type(body)
    return (
        cls.__qualname__
        if cls.__module__ == "builtins"
        else f"{cls.__module__}.{cls.__qualname__}"
    )


def _verify(comp: Competitor, store: ServeStore, etag_keys: Sequence[Key]) -> None:
    """Untimed correctness pass; it also warms the page cache and each middleware's caches."""
    app = comp.app
    assert app is not None
    template = environ_template(file_wrapper=True)
    for key in [*store.small[:16], *store.large]:
        status, rec, n = request(app, template, key.url_path)
        if not status.startswith("200") or n != store.size_of(key):
            comp.problem = (
                f"GET {key.url_path}: {status}, {n} bytes (want 200, {store.size_of(key)})"
            )
            return
    # what the body of a 200 is, with and without wsgi.file_wrapper
    for wrapper in (True, False):
        env = environ_template(file_wrapper=wrapper)
        env["PATH_INFO"] = store.small[0].url_path
        rec = Recorder()
        body = app(env, rec)
        kind = "with" if wrapper else "without"
        comp.info[f"body_type_{kind}_file_wrapper"] = _describe(body)
        for _chunk in body:
            pass
        getattr(body, "close", lambda: None)()
    comp.info["headers_200"] = rec.headers

    for key in etag_keys:
        status, rec, _n = request(app, template, key.url_path)
        etag = rec.header("ETag")
        if etag is None:
            comp.skip["304"] = "sends no ETag"
            break
        comp.etags[key.url_path] = etag
    if "304" not in comp.skip:
        key = etag_keys[0]
        status, rec, n = request(
            app, template, key.url_path, {"HTTP_IF_NONE_MATCH": comp.etags[key.url_path]}
        )
        comp.info["headers_304"] = rec.headers
        if not status.startswith("304") or n:
            comp.skip["304"] = f"answers {status} ({n} bytes) to its own ETag"

    for key in store.missing[:16]:
        status, rec, _n = request(app, template, key.url_path)
        if not status.startswith("404"):
            comp.skip["404"] = f"GET {key.url_path}: {status}, want 404"
            break


def _build(names: Sequence[str], store: ServeStore, legacy: Legacy | None) -> list[Competitor]:
    legacy_mw = legacy.static_server_middleware if legacy else None
    comps = []
    for name in names:
        app, error = attempt(partial(make_app, name, store.root, legacy_mw))
        comps.append(Competitor(name, app, problem=f"unavailable: {error}" if error else ""))
    return comps


def run(settings: Settings, legacy: Legacy | None, log: Log) -> tuple[list[Row], dict[str, Any]]:
    log(f"serve: store of {settings.n_small} small + {settings.n_large} large JPEGs")
    store = ensure_serve_store(settings.data_dir, settings.n_small, settings.n_large)
    names = [OURS, WERKZEUG, WHITENOISE] + ([LEGACY] if legacy else [])
    comps = _build(names, store, legacy)

    rng = random.Random(3333)
    small_seq = [rng.choice(store.small) for _ in range(settings.requests_per_batch)]
    large_seq = [rng.choice(store.large) for _ in range(settings.large_requests_per_batch)]
    missing_seq = [rng.choice(store.missing) for _ in range(settings.requests_per_batch)]
    etag_keys = list(dict.fromkeys(small_seq))

    for comp in comps:
        if comp.app is None:
            continue
        try:
            _verify(comp, store, etag_keys)
        except Exception as exc:
            comp.problem = f"error: {exc!r}"
        if comp.problem:
            log(f"  {comp.name}: not measured: {comp.problem}")
        for scenario, why in comp.skip.items():
            log(f"  {comp.name}: {scenario} skipped: {why}")

    ours = next((c for c in comps if c.name == OURS and c.app and not c.problem), None)
    if ours is not None and "304" not in ours.skip:
        floor = Competitor(FLOOR, floor_app(str(store.root), URL_PREFIX), etags=ours.etags)
        floor.skip = dict.fromkeys(("small 200", "large 200", "404"), "times 304s only")
        comps.append(floor)

    template = environ_template(file_wrapper=True)
    mean_large = statistics.fmean(store.size_of(k) for k in large_seq) if large_seq else 0.0
    scenarios: list[tuple[str, str, Callable[[Competitor], list[dict[str, str]]]]] = [
        ("small 200", "200", lambda c: [{"PATH_INFO": k.url_path} for k in small_seq]),
        ("large 200", "200", lambda c: [{"PATH_INFO": k.url_path} for k in large_seq]),
        (
            "304",
            "304",
            lambda c: [
                {"PATH_INFO": k.url_path, "HTTP_IF_NONE_MATCH": c.etags[k.url_path]}
                for k in small_seq
            ],
        ),
        ("404", "404", lambda c: [{"PATH_INFO": k.url_path} for k in missing_seq]),
    ]

    rows: list[Row] = []
    for scenario, expected, overlays_for in scenarios:
        active = [
            c for c in comps if c.app is not None and not c.problem and scenario not in c.skip
        ]
        runners = {
            c.name: batch_runner(c.app, template, overlays_for(c), expected)  # type: ignore[arg-type]
            for c in active
        }
        failed: dict[str, str] = {}
        for name, runner in list(runners.items()):  # warm-up batch, untimed
            _, error = attempt(runner)
            if error:
                failed[name] = f"error: {error}"
                del runners[name]
        log(f"  {scenario}: {len(runners)} competitors x {settings.rounds} rounds")
        samples = interleaved_rounds(runners, settings.rounds)
        if scenario == "large 200":
            samples = {n: [v * mean_large / 1e6 for v in s] for n, s in samples.items()}
        unit = "MB/s" if scenario == "large 200" else "req/s"
        for comp in comps:
            row = Row("serve", scenario, comp.name, "throughput", unit)
            target = TARGETS.get(scenario, {}).get(comp.name)
            if target is not None:
                row.target = f">= {target:g}x"
            if comp.name in samples:
                row.samples = samples[comp.name]
                row.value = median(row.samples)
                if OURS in samples:
                    row.set_ratio(samples[OURS])
                    if target is not None:
                        row.verdict = judge(row.ratio, target)
            else:
                row.note = (
                    failed.get(comp.name) or comp.problem or comp.skip.get(scenario, "skipped")
                )
            if row.target and not row.verdict:
                row.verdict = "n/a"
            if comp.name == FLOOR and row.samples:
                row.note = "an os.stat and a fixed 304: the bound of Python middleware (SPEC 10.4)"
                bound = paired_ratio(row.samples, samples.get(WERKZEUG, []))
                if bound is not None:
                    row.note += f"; {bound:.2f}x werkzeug"
            if comp.name == OURS and scenario == "304":
                row.note = f"file check: {_file_check()}"
            if scenario == "small 200" and comp.info:
                row.note = row.note or (
                    "body: "
                    + str(comp.info.get("body_type_with_file_wrapper"))
                    + " / "
                    + str(comp.info.get("body_type_without_file_wrapper"))
                    + " (with/without file_wrapper)"
                )
            rows.append(row)
    extra = {
        "serve": {
            "store": str(store.root),
            "n_small": len(store.small),
            "n_large": len(store.large),
            "mean_small_bytes": statistics.fmean(store.size_of(k) for k in store.small),
            "mean_large_bytes": mean_large,
            "competitors": {
                c.name: {"problem": c.problem, "skip": c.skip, **c.info} for c in comps
            },
        }
    }
    return rows, extra


def profile_ours(settings: Settings, log: Log, top: int = 15) -> str:
    """cProfile our middleware over ``settings.profile_requests`` requests per scenario.

    Scenarios: small-file 200s, then 304s (``If-None-Match`` with our own ETags).  The
    harness's own frames (``serve.py:run``, ``_wsgi.py:FileWrapper``) show up too; they are
    the same for every competitor.
    """
    store = ensure_serve_store(settings.data_dir, settings.n_small, settings.n_large)
    app = make_app(OURS, store.root)
    template = environ_template(file_wrapper=True)
    rng = random.Random(4444)
    keys = [rng.choice(store.small) for _ in range(settings.profile_requests)]
    etags: dict[str, str] = {}
    for key in dict.fromkeys(keys):
        _status, rec, _n = request(app, template, key.url_path)
        etags[key.url_path] = rec.header("ETag") or ""
    scenarios = [
        ("small-file GETs (200)", "200", [{"PATH_INFO": k.url_path} for k in keys]),
        (
            "conditional GETs (304, If-None-Match: our ETag)",
            "304",
            [{"PATH_INFO": k.url_path, "HTTP_IF_NONE_MATCH": etags[k.url_path]} for k in keys],
        ),
    ]
    out = io.StringIO()
    for title, expected, overlays in scenarios:
        batch_runner(app, template, overlays[:500], expected)()  # warm up
        run = batch_runner(app, template, overlays, expected)
        log(f"profile: ours, {len(overlays)} {title} under cProfile")
        prof = cProfile.Profile()
        prof.enable()
        rate = run()
        prof.disable()
        out.write(
            f"=== cProfile: {len(overlays)} {title} through "
            f"imageattach.wsgi.StaticServerMiddleware, wsgi.file_wrapper given; "
            f"{rate:,.0f} req/s under the profiler ===\n"
        )
        for order in ("tottime", "cumulative"):
            out.write(f"\n--- top {top} by {order} ---\n")
            pstats.Stats(prof, stream=out).strip_dirs().sort_stats(order).print_stats(top)
    return out.getvalue()
