"""sqlalchemy-imageattach 1.1.0, fetched at bench time and loaded under an alias.

1.1.0 cannot be installed next to us (both ship a top-level ``sqlalchemy_imageattach``; ours is
a compatibility facade) and it does not import on Python 3.10+ (``from collections import
Iterator`` in its ``file.py``).  So the wheel is downloaded with pip into
``benchmarks/.data/dl`` (checked against its pinned sha256), the few modules the benchmarks need
are extracted to ``benchmarks/.data/legacy/_legacy_imageattach/`` (gitignored: its code is never
committed here), and they are imported as the package ``_legacy_imageattach`` with
``collections.Iterator`` aliased to ``collections.abc.Iterator`` for the duration of the import.

Its ``entity`` module (SQLAlchemy declarative classes) is not loaded: the package gets a
synthetic ``_legacy_imageattach.entity`` holding a bare ``Image`` class, so that
``Store.locate()``'s ``isinstance(image, Image)`` check passes for a fake image that inherits it
and the *real* 1.1.0 ``locate()`` code path is what gets timed.
"""

from __future__ import annotations

import collections
import collections.abc
import hashlib
import importlib
import importlib.util
import subprocess
import sys
import tarfile
import types
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ALIAS = "_legacy_imageattach"
REQUIREMENT = "sqlalchemy-imageattach==1.1.0"
WHEEL_NAME = "SQLAlchemy_ImageAttach-1.1.0-py2.py3-none-any.whl"
WHEEL_SHA256 = "7a143a820767458ad07380a4e405126bba5cfe5b74478f317d4d58e44cdc1df4"
# Package-relative paths of the modules we load.
MODULES = ("__init__.py", "file.py", "store.py", "stores/__init__.py", "stores/fs.py")
# Names 1.1.0 imports from ``collections`` that moved to ``collections.abc`` (gone in 3.10).
_ABC_ALIASES = ("Iterator",)


class LegacyUnavailableError(RuntimeError):
    """1.1.0 could not be fetched or loaded; the benchmarks go on without it."""


@dataclass(frozen=True)
class Legacy:
    """The loaded 1.1.0 modules the benchmarks use."""

    fs: types.ModuleType  # _legacy_imageattach.stores.fs
    image_base: type  # _legacy_imageattach.entity.Image (synthetic)
    source_dir: Path

    @property
    def static_server_middleware(self) -> Any:
        return self.fs.StaticServerMiddleware


def _download(dl_dir: Path) -> Path:
    dl_dir.mkdir(parents=True, exist_ok=True)
    wheel = dl_dir / WHEEL_NAME
    if wheel.exists():
        return wheel
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        REQUIREMENT,
        "-d",
        str(dl_dir),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LegacyUnavailableError(f"pip download failed: {exc}") from exc
    if proc.returncode != 0 or not wheel.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise LegacyUnavailableError("pip download failed: " + " | ".join(tail))
    return wheel


def _extract(archive: Path, dest: Path) -> None:
    """Copy MODULES out of the wheel (or an sdist, if one was put in the dl dir by hand)."""
    tmp = dest.with_name(dest.name + ".tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    for rel in MODULES:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            for rel in MODULES:
                (tmp / rel).write_bytes(zf.read(f"sqlalchemy_imageattach/{rel}"))
    else:
        with tarfile.open(archive) as tf:
            members = {m.name.split("/", 1)[-1]: m for m in tf.getmembers() if m.isfile()}
            for rel in MODULES:
                f = tf.extractfile(members[f"sqlalchemy_imageattach/{rel}"])
                if f is None:  # pragma: no cover - a regular member always has a file
                    raise LegacyUnavailableError(f"cannot read {rel} from {archive}")
                (tmp / rel).write_bytes(f.read())
    (tmp / "SOURCE.txt").write_text(
        f"Extracted from {archive.name} at bench time; not part of the repository.\n",
        encoding="utf-8",
    )
    if dest.exists():
        import shutil

        shutil.rmtree(dest)
    tmp.rename(dest)


def ensure_source(data_dir: Path) -> Path:
    """Return the directory of the extracted ``_legacy_imageattach`` package, fetching it once."""
    dest = data_dir / "legacy" / ALIAS
    if all((dest / rel).is_file() for rel in MODULES):
        return dest
    dl_dir = data_dir / "dl"
    sdists = sorted(dl_dir.glob("[Ss][Qq][Ll]*[Ii]mage[Aa]ttach-1.1.0.tar.gz"))
    if sdists and not (dl_dir / WHEEL_NAME).exists():
        archive = sdists[0]
    else:
        archive = _download(dl_dir)
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != WHEEL_SHA256:
            raise LegacyUnavailableError(
                f"{archive.name}: sha256 {digest} is not the pinned {WHEEL_SHA256}"
            )
    _extract(archive, dest)
    return dest


def load(source_dir: Path) -> Legacy:
    """Import the extracted 1.1.0 modules as ``_legacy_imageattach`` (idempotent)."""
    if f"{ALIAS}.stores.fs" in sys.modules:
        fs = sys.modules[f"{ALIAS}.stores.fs"]
        image_base = sys.modules[f"{ALIAS}.entity"].Image
        return Legacy(fs=fs, image_base=image_base, source_dir=source_dir)

    spec = importlib.util.spec_from_file_location(
        ALIAS, source_dir / "__init__.py", submodule_search_locations=[str(source_dir)]
    )
    if spec is None or spec.loader is None:
        raise LegacyUnavailableError(f"cannot load {source_dir}")
    package = importlib.util.module_from_spec(spec)
    sys.modules[ALIAS] = package
    spec.loader.exec_module(package)

    # A stand-in for sqlalchemy_imageattach.entity: only its Image base class is ever looked
    # up by the modules we load (Store.store/delete/open/locate's isinstance checks).
    entity = types.ModuleType(f"{ALIAS}.entity", "Synthetic stand-in for 1.1.0's entity.")
    image_base = type("Image", (), {"__module__": entity.__name__})
    entity.Image = image_base  # type: ignore[attr-defined]
    sys.modules[entity.__name__] = entity
    package.entity = entity  # type: ignore[attr-defined]

    added = [name for name in _ABC_ALIASES if not hasattr(collections, name)]
    for name in added:
        setattr(collections, name, getattr(collections.abc, name))
    try:
        with warnings.catch_warnings():
            # Its docstrings hold invalid escape sequences ("\ [") that 3.12+ warns about.
            warnings.simplefilter("ignore")
            fs = importlib.import_module(f"{ALIAS}.stores.fs")
    except Exception as exc:
        for name in [n for n in sys.modules if n == ALIAS or n.startswith(ALIAS + ".")]:
            del sys.modules[name]
        raise LegacyUnavailableError(f"importing 1.1.0 failed: {exc!r}") from exc
    finally:
        for name in added:
            delattr(collections, name)
    return Legacy(fs=fs, image_base=image_base, source_dir=source_dir)


def fetch_and_load(data_dir: Path) -> Legacy:
    return load(ensure_source(data_dir))
