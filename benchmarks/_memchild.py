"""Child process of the memory benchmark: stream one big file through one competitor.

Usage: ``python -m benchmarks._memchild COMPETITOR ROOT BIG_URL TINY_URL SIZE WRAPPER
[LEGACY_DIR]``; prints one JSON object.  Two passes over the whole body, in this order:

1. RSS: the high-water mark is reset (``/proc/self/clear_refs``, Linux >= 4.0) right before the
   request and read back (``VmHWM``) after it; the growth is HWM minus the RSS just before.  Where
   the reset is not possible, ``ru_maxrss`` after minus the RSS before is used (it can only
   over-state growth).
2. tracemalloc: started after pass 1, so its own overhead never shows in pass 1; the growth is
   the traced peak minus the traced size just before the request.

A tiny file is served first so lazy initialisation (mimetypes tables, imports) is not counted.

The competitor ``control`` is a deliberately bad app that reads the whole file into one bytes
object: it proves that both measures do see a body held in memory.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from benchmarks._common import LEGACY, maxrss_kb, proc_status_kb, reset_hwm
from benchmarks._data import URL_PREFIX
from benchmarks._wsgi import Environ, StartResponse, WSGIApp, environ_template, make_app, request

CONTROL = "control"


def control_app(root: Path, prefix_len: int) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        data = (root / environ["PATH_INFO"][prefix_len:]).read_bytes()
        start_response("200 OK", [("Content-Length", str(len(data)))])
        return [data]

    return app


def main(argv: list[str]) -> dict[str, Any]:
    competitor, root, url_path, tiny_url, size_s, wrapper_s = argv[:6]
    legacy_dir = argv[6] if len(argv) > 6 else ""
    size = int(size_s)
    legacy_mw = None
    if competitor == LEGACY:
        from benchmarks._legacy import load

        legacy_mw = load(Path(legacy_dir)).static_server_middleware
    if competitor == CONTROL:
        app = control_app(Path(root), len(URL_PREFIX) + 1)
    else:
        app = make_app(competitor, Path(root), legacy_mw)
    template = environ_template(file_wrapper=wrapper_s == "1")

    status, _rec, n = request(app, template, tiny_url)
    if not status.startswith("200"):
        raise SystemExit(f"warm-up request: {status}")
    gc.collect()

    # pass 1: RSS
    rss_before = proc_status_kb("VmRSS")
    reset = reset_hwm() and rss_before is not None
    maxrss_before = maxrss_kb()
    start = time.perf_counter_ns()
    status, rec, n = request(app, template, url_path)
    elapsed = time.perf_counter_ns() - start
    if reset:
        hwm = proc_status_kb("VmHWM") or 0
        rss_growth_kb = hwm - (rss_before or 0)
        rss_method = "VmHWM reset via /proc/self/clear_refs"
    else:
        base = rss_before if rss_before is not None else maxrss_before
        rss_growth_kb = maxrss_kb() - base
        rss_method = "ru_maxrss minus RSS before"
    if not status.startswith("200") or n != size:
        raise SystemExit(f"big request: {status}, {n} bytes (want 200, {size})")
    gc.collect()

    # pass 2: tracemalloc
    tracemalloc.start()
    traced_before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    status, _rec2, n2 = request(app, template, url_path)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if n2 != size:
        raise SystemExit(f"big request (traced): {status}, {n2} bytes")

    return {
        "competitor": competitor,
        "file_wrapper": wrapper_s == "1",
        "bytes": n,
        "seconds": elapsed / 1e9,
        "rss_growth_mb": max(rss_growth_kb, 0) / 1024,
        "rss_method": rss_method,
        "tracemalloc_peak_mb": (traced_peak - traced_before) / (1024 * 1024),
        "headers": rec.headers,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
