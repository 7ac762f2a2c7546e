"""Generated benchmark data under ``benchmarks/.data/`` (gitignored), made once and reused.

* A serving store of real JPEGs made with Pillow in the 1.1.0 layout
  ``<object_type>/<id % 1000>/<id // 1000>/<id>.<W>x<H>.jpe``: many small ones (~20 KB) and a
  few large ones (~2 MB).  A manifest records what was generated; a store whose manifest does
  not match the requested shape is rebuilt.
* A big sparse file (random head and tail, a hole between) for the streaming-memory benchmark.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

URL_PREFIX = "/__images__"
_FORMAT = 3  # bump to rebuild stores made by an older generator
_SEED = 20171009  # 1.1.0's release day
_OBJECT_TYPES = ("user_picture", "product_image", "post_photo")


@dataclass(frozen=True)
class Key:
    """An image key in the 1.1.0 layout."""

    object_type: str
    object_id: int
    width: int
    height: int

    @property
    def segments(self) -> tuple[str, str, str, str]:
        oid = self.object_id
        return (
            self.object_type,
            str(oid % 1000),
            str(oid // 1000),
            f"{oid}.{self.width}x{self.height}.jpe",
        )

    @property
    def relpath(self) -> str:
        return "/".join(self.segments)

    @property
    def url_path(self) -> str:
        return f"{URL_PREFIX}/{self.relpath}"


@dataclass(frozen=True)
class ServeStore:
    root: Path
    small: list[Key]
    large: list[Key]
    missing: list[Key]
    sizes: dict[str, int]  # relpath -> bytes

    def size_of(self, key: Key) -> int:
        return self.sizes[key.relpath]


def _jpeg(width: int, height: int, quality: int, sigma: float) -> bytes:
    from PIL import Image

    noise = Image.effect_noise((width, height), sigma).convert("RGB")
    ramp = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buf = io.BytesIO()
    Image.blend(ramp, noise, 0.5).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _unique_ids(rng: random.Random, count: int) -> list[int]:
    # Spread over 0..3M so ``id // 1000`` spans thousands of directories, as in a real store.
    return rng.sample(range(1, 3_000_000), count)


def ensure_serve_store(data_dir: Path, n_small: int, n_large: int) -> ServeStore:
    root = data_dir / f"store-{n_small}-{n_large}"
    manifest_path = root / "manifest.json"
    params = {"format": _FORMAT, "n_small": n_small, "n_large": n_large, "seed": _SEED}
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            manifest = {}
        if manifest.get("params") == params:
            return ServeStore(
                root=root,
                small=[Key(**k) for k in manifest["small"]],
                large=[Key(**k) for k in manifest["large"]],
                missing=[Key(**k) for k in manifest["missing"]],
                sizes={k: int(v) for k, v in manifest["sizes"].items()},
            )

    rng = random.Random(_SEED)
    n_missing = max(64, n_small // 4)
    ids = _unique_ids(rng, n_small + n_large + n_missing)
    small: list[Key] = []
    for oid in ids[:n_small]:
        width = rng.randrange(224, 264, 2)
        small.append(Key(rng.choice(_OBJECT_TYPES), oid, width, width * 3 // 4))
    large = [
        Key(rng.choice(_OBJECT_TYPES), oid, 1800, 1350) for oid in ids[n_small : n_small + n_large]
    ]
    # Missing keys: half in directories that exist (a real image's other size), half in
    # directories that do not.
    missing: list[Key] = []
    for i, oid in enumerate(ids[n_small + n_large :]):
        if i % 2 == 0 and small:
            other = small[i % len(small)]
            missing.append(Key(other.object_type, other.object_id, 9999, 9999))
        else:
            missing.append(Key(rng.choice(_OBJECT_TYPES), oid, 320, 240))

    tmp = root.with_name(root.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    sizes: dict[str, int] = {}
    for key in small:
        sizes[key.relpath] = _write(tmp, key, _jpeg(key.width, key.height, 80, 64))
    for key in large:
        sizes[key.relpath] = _write(tmp, key, _jpeg(key.width, key.height, 95, 96))
    (tmp / "manifest.json").write_text(
        json.dumps(
            {
                "params": params,
                "small": [asdict(k) for k in small],
                "large": [asdict(k) for k in large],
                "missing": [asdict(k) for k in missing],
                "sizes": sizes,
            }
        ),
        encoding="utf-8",
    )
    if root.exists():
        shutil.rmtree(root)
    tmp.rename(root)
    return ServeStore(root=root, small=small, large=large, missing=missing, sizes=sizes)


def _write(root: Path, key: Key, data: bytes) -> int:
    path = root.joinpath(*key.segments)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


@dataclass(frozen=True)
class MemoryStore:
    root: Path
    big: Key
    big_size: int
    tiny: Key


def ensure_memory_store(data_dir: Path, size_mb: int) -> MemoryStore:
    """A store holding one ``size_mb`` MiB sparse file and one tiny file for warming up."""
    root = data_dir / f"memory-{size_mb}mb"
    big = Key("huge", 1, 20000, 20000)
    tiny = Key("tiny", 2, 1, 1)
    size = size_mb * 1024 * 1024
    big_path = root.joinpath(*big.segments)
    tiny_path = root.joinpath(*tiny.segments)
    if not (big_path.is_file() and big_path.stat().st_size == size and tiny_path.is_file()):
        big_path.parent.mkdir(parents=True, exist_ok=True)
        tiny_path.parent.mkdir(parents=True, exist_ok=True)
        tiny_path.write_bytes(_jpeg(1, 1, 80, 1))
        rng = random.Random(_SEED)
        head = rng.randbytes(1024 * 1024)
        tmp = big_path.with_name(big_path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(head)
            f.truncate(size)  # the hole: reads as zeros, costs no disk
            f.seek(size - len(head))
            f.write(head[::-1])
        os.replace(tmp, big_path)
    return MemoryStore(root=root, big=big, big_size=size, tiny=tiny)
