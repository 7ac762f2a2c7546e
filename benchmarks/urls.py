"""Benchmark 3: URL building, ours against 1.1.0.

``store.get_url(object_type, object_id, width, height, mimetype)`` and ``store.locate(image)``
calls/s for ``FileSystemStore(path, base_url)`` and ``HttpExposedFileSystemStore(path,
host_url_getter=...)``, with ``image/jpeg`` and ``image/png`` keys (1.1.0 asks
``mimetypes.guess_extension`` for anything but JPEG).  Target: ours >= 1.5x 1.1.0 for each.

1.1.0's ``Store.locate`` insists on ``isinstance(image, sqlalchemy_imageattach.entity.Image)``;
the aliased 1.1.0 package gets a synthetic ``entity`` module whose bare ``Image`` class the
legacy fake image inherits, so its real ``locate`` (isinstance check, ``get_url``, ``_ts``
formatting) is what runs.  Our fake image is the same class without that base.
"""

from __future__ import annotations

import datetime
import random
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from itertools import starmap
from time import perf_counter_ns
from typing import Any

from benchmarks._common import (
    LEGACY,
    OURS,
    Row,
    Settings,
    attempt,
    gc_paused,
    interleaved_rounds,
    judge,
)
from benchmarks._common import median as median_of
from benchmarks._legacy import Legacy

Log = Callable[[str], None]
TARGET = 1.5
BASE_URL = "https://images.example.com/media/"
HOST_URL = "http://localhost:8080/"
N_KEYS = 1000
_CALIBRATION_CALLS = 10_000


class FakeImage:
    """Anything with the attributes an image entity has."""

    def __init__(
        self,
        object_type: str,
        object_id: int,
        width: int,
        height: int,
        mimetype: str,
        created_at: datetime.datetime,
    ) -> None:
        self.object_type = object_type
        self.object_id = object_id
        self.width = width
        self.height = height
        self.mimetype = mimetype
        self.created_at = created_at


def _keys(mimetype: str) -> list[tuple[str, int, int, int, str, datetime.datetime]]:
    rng = random.Random(f"urls-{mimetype}")
    epoch = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    keys = []
    for _ in range(N_KEYS):
        width = rng.randrange(16, 4096)
        created = epoch + datetime.timedelta(microseconds=rng.randrange(10**15))
        keys.append(
            (
                rng.choice(("user_picture", "product_image", "post_photo")),
                rng.randrange(1, 10**7),
                width,
                width * 3 // 4,
                mimetype,
                created,
            )
        )
    return keys


def _repeat(items: Sequence[Any], n: int) -> list[Any]:
    return (list(items) * (n // len(items) + 1))[:n]


def _runner(fn: Callable[..., Any], items: Sequence[Any], star: bool) -> Callable[[], float]:
    def run() -> float:
        with gc_paused():
            start = perf_counter_ns()
            if star:
                deque(starmap(fn, items), maxlen=0)
            else:
                deque(map(fn, items), maxlen=0)
            elapsed = perf_counter_ns() - start
        return len(items) * 1e9 / elapsed

    return run


def _stores(impl: Any, path: str) -> dict[str, Any]:
    return {
        "FileSystemStore": impl.FileSystemStore(path, BASE_URL),
        "HttpExposedFileSystemStore": impl.HttpExposedFileSystemStore(
            path, host_url_getter=lambda: HOST_URL
        ),
    }


def run(settings: Settings, legacy: Legacy | None, log: Log) -> tuple[list[Row], dict[str, Any]]:
    path_dir = settings.data_dir / "url-store"
    path_dir.mkdir(parents=True, exist_ok=True)
    path = str(path_dir)

    impls: dict[str, Any] = {}
    problems: dict[str, str] = {}
    try:
        from imageattach import core

        for attr in ("FileSystemStore", "HttpExposedFileSystemStore"):
            if not hasattr(core, attr):
                raise ImportError(f"imageattach.core has no {attr} yet")
        impls[OURS] = core
    except ImportError as exc:
        problems[OURS] = f"unavailable: {exc}"
    if legacy is not None:
        impls[LEGACY] = legacy.fs

    stores: dict[str, dict[str, Any]] = {}
    for name, impl in impls.items():
        built, error = attempt(partial(_stores, impl, path))
        if built is None:
            problems[name] = f"error: {error}"
        else:
            stores[name] = built
    image_classes: dict[str, type] = {OURS: FakeImage}
    if legacy is not None:
        image_classes[LEGACY] = type("LegacyFakeImage", (FakeImage, legacy.image_base), {})

    rows: list[Row] = []
    samples_seen: dict[str, dict[str, str]] = {}
    names = [OURS] + ([LEGACY] if legacy else [])
    for store_kind in ("FileSystemStore", "HttpExposedFileSystemStore"):
        for method in ("get_url", "locate"):
            for mimetype in ("image/jpeg", "image/png"):
                scenario = f"{store_kind}.{method} {mimetype.split('/')[1]}"
                keys = _keys(mimetype)
                runners: dict[str, Callable[[], float]] = {}
                calls: dict[str, tuple[Callable[..., Any], list[Any], bool]] = {}
                errors: dict[str, str] = {}
                for name in names:
                    if name not in stores:
                        continue
                    store = stores[name][store_kind]
                    if method == "get_url":
                        fn = store.get_url
                        items: list[Any] = [k[:5] for k in keys]
                        star = True
                    else:
                        fn = store.locate
                        cls = image_classes[name]
                        items = [cls(*k) for k in keys]
                        star = False
                    try:  # one call to check it works, and to show what it builds
                        first = fn(*items[0]) if star else fn(items[0])
                    except Exception as exc:
                        errors[name] = f"error: {exc!r}"
                        continue
                    samples_seen.setdefault(scenario, {})[name] = first
                    calls[name] = (fn, items, star)
                # Warm up, and size the batch so the slowest competitor's takes about
                # settings.url_batch_seconds; every competitor gets the same batch.
                rates = [
                    _runner(fn, _repeat(items, _CALIBRATION_CALLS), star)()
                    for fn, items, star in calls.values()
                ]
                batch = int(min(rates, default=0) * settings.url_batch_seconds)
                batch = max(_CALIBRATION_CALLS, min(batch, settings.url_calls_per_batch))
                for name, (fn, items, star) in calls.items():
                    runners[name] = _runner(fn, _repeat(items, batch), star)
                log(
                    f"urls: {scenario}: {len(runners)} competitors x {settings.url_rounds} rounds"
                    f" x {batch:,} calls"
                )
                samples = interleaved_rounds(runners, settings.url_rounds)
                seen = samples_seen.get(scenario, {})
                for name in names:
                    row = Row("urls", scenario, name, "calls", "calls/s")
                    if name == LEGACY:
                        row.target = f">= {TARGET:g}x"
                    if name in samples:
                        row.samples = samples[name]
                        row.value = median_of(row.samples)
                        if OURS in samples:
                            row.set_ratio(samples[OURS])
                            if row.target:
                                row.verdict = judge(row.ratio, TARGET)
                    else:
                        row.note = errors.get(name) or problems.get(name, "not measured")
                    if row.target and not row.verdict:
                        row.verdict = "n/a"
                    if name == OURS and OURS in seen and LEGACY in seen:
                        if seen[OURS] == seen[LEGACY]:
                            row.note = "same URL as 1.1.0"
                        else:
                            row.note = (
                                f"URL differs from 1.1.0: {seen[OURS]!r} vs {seen[LEGACY]!r}"
                            )
                    rows.append(row)
    return rows, {"urls": {"first_urls": samples_seen, "problems": problems}}


def profile_ours(settings: Settings, log: Log, top: int = 15) -> str:
    """cProfile our ``FileSystemStore.get_url`` and ``locate`` (image/jpeg keys).

    cProfile's per-call overhead inflates these microsecond calls; read it for where the calls
    go, not for absolute speed.
    """
    import cProfile
    import io
    import pstats

    from imageattach import core

    path_dir = settings.data_dir / "url-store"
    path_dir.mkdir(parents=True, exist_ok=True)
    store = core.FileSystemStore(str(path_dir), BASE_URL)
    keys = _keys("image/jpeg")
    n = settings.profile_requests * 5
    calls: list[tuple[str, Callable[..., Any], list[Any], bool]] = [
        ("FileSystemStore.get_url(image/jpeg)", store.get_url, [k[:5] for k in keys], True),
        ("FileSystemStore.locate(image/jpeg)", store.locate, [FakeImage(*k) for k in keys], False),
    ]
    out = io.StringIO()
    for title, fn, items, star in calls:
        repeated = _repeat(items, n)
        _runner(fn, repeated[:1000], star)()  # warm up
        run = _runner(fn, repeated, star)
        log(f"profile: ours, {n} calls of {title} under cProfile")
        prof = cProfile.Profile()
        prof.enable()
        rate = run()
        prof.disable()
        out.write(
            f"=== cProfile: {n} calls of {title}; {rate:,.0f} calls/s under the profiler ===\n"
        )
        out.write(f"\n--- top {top} by tottime ---\n")
        pstats.Stats(prof, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()
