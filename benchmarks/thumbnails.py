"""Benchmark 6: thumbnails, ours (Pillow) against Wand/ImageMagick, the engine 1.1.0 used.

Two originals, made once in ``.data/thumbnails-v2/`` (seeded, so every machine makes the same
ones): a 4000x3000 photo-like JPEG (gradients, blurred shapes and noise; 3.1 MB at quality 90)
and a 2000x2000 RGBA PNG (an illustration with soft alpha; 4.9 MB).  Each is resized to 300 px
wide, from bytes in memory:

* ``ours``: ``imageattach.core._imaging.make_thumbnail(data, 300, h)`` (sniff, limits, DCT
  scaling for the JPEG, LANCZOS, no metadata; one thread);
* ``wand``: what 1.1.0's ``generate_thumbnail()`` did: ``WandImage(file=f)``,
  ``len(img.sequence)``, ``resize(w, h)`` with its default filter (``'undefined'``: ImageMagick
  picks), ``strip()``, ``save(file=buf)``, with ImageMagick's default OpenMP threads (one per
  core);
* ``floor``: no competitor but a bound: Pillow's decode alone, as ours makes it (DCT-scaled
  for the JPEG), the least any Pillow thumbnailer can take; its note gives Wand's time over it,
  the most such a thumbnailer can be;
* ``wand 1 thread``: the same with ImageMagick's thread limit at 1 (``MAGICK_THREAD_LIMIT=1``,
  set through ``wand.resource.limits['thread']`` between calls): per core, like ours.

Time: interleaved rounds (the order rotated each round), each a batch of 3 thumbnails per
competitor (1 with ``--quick``); the value is the median time per image, and "ours is" on Wand's
rows the median of the per-round ratios Wand / ours.  Peak memory: one fresh child process per
competitor and image (``python -m benchmarks.thumbnails --child ...``), which reads the file,
makes one tiny thumbnail of the same format (imports, codecs, thread pools), then resets its
RSS high-water mark (``/proc/self/clear_refs``) and makes the real one; the growth is ``VmHWM``
minus the RSS just before (``ru_maxrss`` minus it where the reset is not possible).  Targets:
ours >= 3x faster than ``wand``, and a peak no higher.  Without Wand (or its libMagickWand)
the Wand rows are skipped with the reason, and ours is measured alone.
"""

from __future__ import annotations

import gc
import io
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import (
    BENCH_DIR,
    FLOOR,
    MISS,
    OURS,
    PASS,
    Row,
    Settings,
    interleaved_rounds,
    judge,
    maxrss_kb,
    median,
    paired_ratio,
    paired_ratios,
    proc_status_kb,
    reset_hwm,
)

Log = Callable[[str], None]
Thumbnailer = Callable[[bytes, int, int], bytes]
SECTION = "thumbnails"
WAND = "wand"
WAND_1T = "wand 1 thread"
SPEED_TARGET = 3.0
DATA_VERSION = 2
INSTALL_HINT = (
    "the bench environment installs Wand; it needs ImageMagick's library: "
    "apt-get install -y libmagickwand-6.q16-6"
)


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path  # the original
    tiny: Path  # a tiny image of the same format, for warming up
    width: int
    height: int


# --- the originals ---------------------------------------------------------------------


def _noise(rng: random.Random, size: tuple[int, int]) -> Any:
    from PIL import Image

    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def _photo(width: int, height: int) -> Any:
    """Photo-like: smooth gradients, blurred shapes of many colours, and sensor-like noise,
    so the JPEG is as large and as hard to decode as a real photo's."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(4000)
    size = (width, height)
    linear = Image.linear_gradient("L").resize(size)
    radial = Image.radial_gradient("L").resize(size)
    im = Image.merge("RGB", (linear, radial, Image.blend(linear, radial, 0.5)))
    draw = ImageDraw.Draw(im)
    for _ in range(200):
        x, y, s = rng.randrange(width), rng.randrange(height), rng.randrange(20, 400)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + s, y + s), fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(3))
    noise = Image.merge("RGB", tuple(_noise(rng, size) for _ in range(3)))
    return Image.blend(im, noise, 0.10)


def _illustration(width: int, height: int) -> Any:
    """An RGBA illustration: gradients, flat shapes, soft-edged alpha, a little grain."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(2000)
    size = (width, height)
    linear = Image.linear_gradient("L").resize(size)
    radial = Image.radial_gradient("L").resize(size)
    rgb = Image.merge(
        "RGB",
        (linear, radial.transpose(Image.Transpose.ROTATE_90), Image.blend(linear, radial, 0.5)),
    )
    alpha = Image.new("L", size, 0)
    draw_alpha, draw = ImageDraw.Draw(alpha), ImageDraw.Draw(rgb)
    for _ in range(120):
        x, y, s = rng.randrange(width), rng.randrange(height), rng.randrange(40, 500)
        draw_alpha.ellipse((x, y, x + s, y + s), fill=rng.randrange(128, 256))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + s // 2, y + s // 3), fill=colour)
    grain = _noise(rng, size)
    rgb = Image.blend(rgb, Image.merge("RGB", (grain, grain, grain)), 0.02)
    rgb.putalpha(alpha.filter(ImageFilter.GaussianBlur(4)))
    return rgb


def _write(path: Path, make: Callable[[], Any], fmt: str, **options: Any) -> None:
    if path.exists():
        return
    buffer = io.BytesIO()
    make().save(buffer, fmt, **options)
    partial = path.with_suffix(".partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(path)


def ensure_images(data_dir: Path, log: Log) -> list[Scenario]:
    from imageattach.core._imaging import thumbnail_size

    folder = data_dir / f"thumbnails-v{DATA_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    photo, art = folder / "photo-4000x3000.jpg", folder / "art-2000x2000.png"
    if not (photo.exists() and art.exists()):
        log("thumbnails: making the originals (once)")
    _write(photo, lambda: _photo(4000, 3000), "JPEG", quality=90)
    _write(art, lambda: _illustration(2000, 2000), "PNG")
    _write(folder / "tiny.jpg", lambda: _photo(64, 48), "JPEG", quality=90)
    _write(folder / "tiny.png", lambda: _illustration(64, 64), "PNG")
    return [
        Scenario(
            f"JPEG 4000x3000 {photo.stat().st_size / 1e6:.1f} MB -> 300 wide",
            photo,
            folder / "tiny.jpg",
            *thumbnail_size(4000, 3000, target_width=300),
        ),
        Scenario(
            f"PNG RGBA 2000x2000 {art.stat().st_size / 1e6:.1f} MB -> 300 wide",
            art,
            folder / "tiny.png",
            *thumbnail_size(2000, 2000, target_width=300),
        ),
    ]


# --- the competitors -------------------------------------------------------------------


def ours_thumbnail(data: bytes, width: int, height: int) -> bytes:
    from imageattach.core._imaging import make_thumbnail

    return make_thumbnail(data, width, height)[0]


def floor_decode(data: bytes, width: int, height: int) -> bytes:
    """Only the decode of a thumbnail: the image read into memory, nothing made of it."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        if im.format == "JPEG":
            im.draft(None, (width * 2, height * 2))  # what ours does: DCT scaling
        im.load()
    return b""


def wand_thumbnail(data: bytes, width: int, height: int) -> bytes:
    """1.1.0's generate_thumbnail(), minus the database: the same Wand calls."""
    from wand.image import Image as WandImage

    buffer = io.BytesIO()
    with WandImage(file=io.BytesIO(data)) as img:
        if len(img.sequence) > 1:  # 1.1.0: the first frame of an animation
            raise RuntimeError("the benchmark's originals are single images")
        img.resize(width, height, filter="undefined")
        img.strip()
        img.save(file=buffer)
    return buffer.getvalue()


def wand_problem() -> str:
    """Why Wand cannot run here, or ""."""
    try:
        import wand.image  # noqa: F401 -- loads libMagickWand
    except Exception as exc:
        return f"Wand/ImageMagick not available ({type(exc).__name__}: {exc}); {INSTALL_HINT}"
    return ""


def wand_threads() -> int:
    from wand.resource import limits

    return int(limits["thread"])


def set_wand_threads(n: int) -> None:
    from wand.resource import limits

    limits["thread"] = n


def _competitors(problem: str) -> dict[str, Thumbnailer]:
    out: dict[str, Thumbnailer] = {OURS: ours_thumbnail, FLOOR: floor_decode}
    if not problem:
        default = wand_threads()

        def wand_default(data: bytes, width: int, height: int) -> bytes:
            set_wand_threads(default)
            return wand_thumbnail(data, width, height)

        def wand_single(data: bytes, width: int, height: int) -> bytes:
            set_wand_threads(1)
            try:
                return wand_thumbnail(data, width, height)
            finally:
                set_wand_threads(default)

        out[WAND] = wand_default
        out[WAND_1T] = wand_single
    return out


def _check(name: str, output: bytes, scenario: Scenario) -> dict[str, Any]:
    """The thumbnail is an image of the asked size: what it is, for the notes."""
    from PIL import Image

    with Image.open(io.BytesIO(output)) as im:
        if im.size != (scenario.width, scenario.height):
            raise RuntimeError(f"{name} made {im.size}, not {scenario.width}x{scenario.height}")
        return {"format": im.format, "mode": im.mode, "bytes": len(output)}


# --- peak memory, in children ------------------------------------------------------------


def child(argv: list[str]) -> dict[str, Any]:
    """In a fresh process: the peak RSS growth of one thumbnail by one competitor."""
    competitor, path, tiny, width_s, height_s = argv
    thumbnail = {OURS: ours_thumbnail, WAND: wand_thumbnail}[competitor]
    data, tiny_data = Path(path).read_bytes(), Path(tiny).read_bytes()
    thumbnail(tiny_data, 8, 6)  # imports, codec and thread-pool set-up: not counted
    gc.collect()
    rss_before = proc_status_kb("VmRSS")
    reset = reset_hwm() and rss_before is not None
    maxrss_before = maxrss_kb()
    started = time.perf_counter()
    output = thumbnail(data, int(width_s), int(height_s))
    seconds = time.perf_counter() - started
    if reset:
        growth_kb = (proc_status_kb("VmHWM") or 0) - (rss_before or 0)
        method = "VmHWM reset via /proc/self/clear_refs"
    else:
        growth_kb = maxrss_kb() - (rss_before if rss_before is not None else maxrss_before)
        method = "ru_maxrss minus RSS before"
    return {
        "competitor": competitor,
        "peak_mb": max(growth_kb, 0) / 1024,
        "baseline_mb": (rss_before or maxrss_before) / 1024,
        "rss_method": method,
        "seconds": seconds,
        "output_bytes": len(output),
    }


def _run_child(competitor: str, scenario: Scenario) -> dict[str, Any]:
    args = [competitor, str(scenario.path), str(scenario.tiny)]
    args += [str(scenario.width), str(scenario.height)]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.thumbnails", "--child", *args],
        cwd=BENCH_DIR.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "MAGICK_THREAD_LIMIT"},
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"exit {proc.returncode}: {tail[0]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --- the section -----------------------------------------------------------------------


def _timer(fn: Thumbnailer, data: bytes, scenario: Scenario, batch: int) -> Callable[[], float]:
    def run() -> float:
        started = time.perf_counter_ns()
        for _ in range(batch):
            fn(data, scenario.width, scenario.height)
        return (time.perf_counter_ns() - started) / batch / 1e6  # ms per image

    return run


def _skipped_rows(scenario: Scenario, reason: str) -> list[Row]:
    return [
        Row(
            SECTION,
            scenario.name,
            name,
            metric,
            unit,
            target=target,
            verdict="n/a" if target else "",
            note=f"skipped: {reason}",
        )
        for name, metric, unit, target in (
            (WAND, "time per image", "ms", f">= {SPEED_TARGET:g}x"),
            (WAND_1T, "time per image", "ms", ""),
            (WAND, "peak RSS growth", "MB", "ours <= wand"),
        )
    ]


def _versions(problem: str) -> dict[str, str]:
    from PIL import __version__ as pillow

    out = {"pillow": pillow}
    if not problem:
        import wand.version

        out["wand"] = wand.version.VERSION
        out["imagemagick"] = wand.version.MAGICK_VERSION
    return out


def run(settings: Settings, log: Log) -> tuple[list[Row], dict[str, Any]]:
    scenarios = ensure_images(settings.data_dir, log)
    problem = wand_problem()
    if problem:
        log(f"thumbnails: Wand rows skipped: {problem}")
    competitors = _competitors(problem)
    threads = wand_threads() if not problem else 0
    batch = 1 if settings.quick else 3
    memory_runs = 1 if settings.quick else 3
    versions = _versions(problem)
    rows: list[Row] = []
    details: dict[str, Any] = {"versions": versions, "batch": batch, "scenarios": {}}
    if problem:
        details["skipped"] = problem
    for scenario in scenarios:
        data = scenario.path.read_bytes()
        outputs = {name: _check(name, fn(data, scenario.width, scenario.height), scenario)
                   for name, fn in competitors.items() if name != FLOOR}  # fmt: skip
        log(f"thumbnails: {scenario.name}, {settings.rounds} rounds of {batch}")
        samples = interleaved_rounds(
            {name: _timer(fn, data, scenario, batch) for name, fn in competitors.items()},
            settings.rounds,
        )
        ours = samples[OURS]
        ours_row = Row(SECTION, scenario.name, OURS, "time per image", "ms")
        ours_row.value, ours_row.samples = median(ours), ours
        ours_row.note = (
            f"Pillow {versions['pillow']}, 1 thread; output {outputs[OURS]['format']} "
            f"{outputs[OURS]['bytes'] / 1000:.1f} kB"
        )
        if problem:
            ours_row.note += f"; wand rows skipped: {problem}"
        rows.append(ours_row)
        floor = Row(SECTION, scenario.name, FLOOR, "time per image", "ms")
        floor.value, floor.samples = median(samples[FLOOR]), samples[FLOOR]
        floor.ratio_samples = paired_ratios(samples[FLOOR], ours)
        floor.ratio = paired_ratio(samples[FLOOR], ours)
        floor.note = "Pillow's decode alone: the bound of any Pillow thumbnailer"
        if problem:
            floor.note += f"; wand rows skipped: {problem}"
        else:
            bound = paired_ratio(samples[WAND], samples[FLOOR])
            if bound is not None:
                floor.note += f"; wand takes {bound:.2f}x it"
        rows.append(floor)
        for name in (WAND, WAND_1T) if not problem else ():
            row = Row(SECTION, scenario.name, name, "time per image", "ms")
            row.value, row.samples = median(samples[name]), samples[name]
            row.ratio_samples = paired_ratios(samples[name], ours)
            row.ratio = paired_ratio(samples[name], ours)
            setting = (
                f"OpenMP threads {threads} (ImageMagick's default)"
                if name == WAND
                else "thread limit 1 (MAGICK_THREAD_LIMIT=1)"
            )
            row.note = (
                f"ImageMagick {versions['imagemagick'].split()[1]}, {setting}; output "
                f"{outputs[name]['format']} {outputs[name]['bytes'] / 1000:.1f} kB"
            )
            if name == WAND:
                row.target = f">= {SPEED_TARGET:g}x"
                row.verdict = judge(row.ratio, SPEED_TARGET)
            else:
                row.note += "; context: per core"
            rows.append(row)
        peaks: dict[str, list[dict[str, Any]]] = {}
        for name in (OURS, WAND) if not problem else (OURS,):
            log(f"thumbnails: peak memory of {name}, {memory_runs} fresh process(es)")
            peaks[name] = [_run_child(name, scenario) for _ in range(memory_runs)]
        ours_peak = median([r["peak_mb"] for r in peaks[OURS]])
        memory = Row(SECTION, scenario.name, OURS, "peak RSS growth", "MB", value=ours_peak)
        memory.samples = [r["peak_mb"] for r in peaks[OURS]]
        memory.note = f"fresh process; baseline {peaks[OURS][0]['baseline_mb']:.0f} MB"
        if problem:
            memory.note += f"; wand rows skipped: {problem}"
        rows.append(memory)
        if problem:
            rows += _skipped_rows(scenario, problem)
        else:
            wand_peak = median([r["peak_mb"] for r in peaks[WAND]])
            row = Row(SECTION, scenario.name, WAND, "peak RSS growth", "MB", value=wand_peak)
            row.samples = [r["peak_mb"] for r in peaks[WAND]]
            row.ratio = wand_peak / ours_peak if ours_peak > 0 else None
            row.target = "ours <= wand"
            row.verdict = PASS if ours_peak <= wand_peak else MISS
            row.note = (
                f"fresh process, OpenMP threads {threads}; baseline "
                f"{peaks[WAND][0]['baseline_mb']:.0f} MB"
            )
            rows.append(row)
        details["scenarios"][scenario.name] = {
            "outputs": outputs,
            "memory": peaks,
            "size": [scenario.width, scenario.height],
        }
    return rows, {SECTION: details}


if __name__ == "__main__":
    if sys.argv[1:2] != ["--child"]:
        raise SystemExit("usage: python -m benchmarks.thumbnails --child COMPETITOR PATH TINY W H")
    print(json.dumps(child(sys.argv[2:])))
