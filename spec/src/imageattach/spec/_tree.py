"""The directory the serving suite serves, with its traps and its secrets.

Besides ordinary images, the tree holds *baits*: real files whose names the
rules of SPEC §2 forbid (``nul.png``, ``dot.png.``, ``back\\slash.png``, a file
named with bytes that are not UTF-8...).  On a POSIX filesystem they exist, so
a server that skips a check serves them and the test fails; a test that could not
fail would be worth nothing.  A bait the platform cannot create is recorded in
:attr:`SpecTree.missing` and the tests that need it skip, saying why.

Next to the root lie secret files (``<base>/secret.png``, the sibling directory
``<root>_secret/``, ``<base>/outside/``) whose bytes must never appear in any body.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["APPENDIX_A", "A_PNG_MTIME_NS", "RANGE_DATA", "RANGE_SIZE", "SpecTree", "build_tree"]

#: SPEC Appendix A: extension to media type.
APPENDIX_A: Final = {
    ".jpe": "image/jpeg",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jfif": "image/jpeg",
    ".png": "image/png",
    ".apng": "image/apng",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".ico": "image/vnd.microsoft.icon",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".jxl": "image/jxl",
    ".pdf": "application/pdf",
}

#: 2020-01-01T00:00:00.123456789Z: a.png's modification time, with nanoseconds.
A_PNG_MTIME_NS: Final = 1_577_836_800_123_456_789
A_PNG: Final = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
SVG: Final = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1">'
    b"<script>alert(document.cookie)</script></svg>"
)
BIG_SIZE: Final = 200 * 1024
LARGE_SIZE: Final = 16 * 1024 * 1024  # sparse: costs no disk, reads as zeros
LONG_SEGMENT: Final = 200  # six of these make a rest longer than 1024 bytes
#: range.png: bytes that never repeat at a short period, so a slice taken at the
#: wrong offset never equals the right one (SPEC §9).
RANGE_SIZE: Final = 10_000
RANGE_DATA: Final = random.Random(9).randbytes(RANGE_SIZE)  # noqa: S311

#: Baits: name (as bytes, relative to the root) to what the request must not get.
_BAITS: Final[dict[str, bytes]] = {
    "nul.png": b"nul.png",
    "CON": b"CON",
    "com1.jpg": b"com1.jpg",
    "LPT1.png": b"LPT1.png",
    "lpt-superscript": "LPT\u00b9.png".encode(),
    "aux-dir": b"Aux/x.png",
    "prn": b"PRN.txt",
    "trailing-dot": b"dot.png.",
    "trailing-space": b"space.png ",
    "colon": b"colon:x.png",
    "drive": b"C:/x.png",
    "backslash": b"back\\slash.png",
    "ctl": b"ctl\x01.png",
    "del": b"del\x7f.png",
    "tab": b"tab\t.png",
    "crlf": b"crlf\r\n.png",
    "invalid-utf8": b"\xff.png",
    "overlong-utf8": b"\xc0\xae.png",
    "hidden": b".hidden",
    "git-config": b".git/config",
    "sub-hidden": b"sub/.hidden.png",
    "long-rest": b"/".join([b"d" * LONG_SEGMENT] * 6) + b"/deep.png",
}

#: Names that look odd but break no rule: they must be served.
SAFE_NAMES: Final = (
    "a.b.c.png",
    "x..png",
    "console.png",
    "com10.png",
    "lpt.png",
    "con-tent.png",
    "a b.png",
    "tilde~.png",
    "caf\u00e9.png",
    "%2e%2e.png",
    "%41.png",
    "%2e%2e/x.png",
    "n" * 251 + ".png",  # a 255-byte segment: the longest allowed
)


@dataclass(frozen=True)
class SpecTree:
    """The served root and what lies around it."""

    base: Path
    root: Path
    secret: bytes
    #: Bait or feature name to the reason the platform could not create it.
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def secret_paths(self) -> tuple[Path, ...]:
        return (
            self.base / "secret.png",
            self.base / f"{self.root.name}_secret" / "secret.png",
            self.base / "outside" / "secret.png",
        )

    def path(self, rest: str | bytes) -> Path:
        """Return the file behind ``rest`` (a str, or bytes for names not UTF-8)."""
        if isinstance(rest, bytes):
            return Path(os.fsdecode(os.path.join(os.fsencode(self.root), rest)))
        return self.root / rest

    def read(self, rest: str | bytes) -> bytes:
        return self.path(rest).read_bytes()

    def etag(self, rest: str | bytes) -> str:
        """Return the ETag SPEC 3.3 prescribes for the file behind ``rest``."""
        return etag_of(self.path(rest))


def etag_of(path: Path) -> str:
    st = os.stat(path)
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _attempt(tree: SpecTree, key: str, make: Callable[..., object], *args: object) -> None:
    """Make one entry of the tree; if this platform cannot, record why under ``key``."""
    try:
        make(*args)
    except (OSError, ValueError, NotImplementedError) as exc:
        tree.missing[key] = f"this platform cannot create {key!r} here: {exc}"


def build_tree(base: Path) -> SpecTree:
    """Build the served tree under ``base`` (an empty directory) and return it."""
    root = base / "images"
    root.mkdir()
    secret = b"IMAGEATTACH-SPEC-SECRET-" + secrets.token_hex(16).encode()
    tree = SpecTree(base=base, root=root, secret=secret)
    for path in tree.secret_paths:
        _write(path, secret)

    _write(root / "a.png", A_PNG)
    os.utime(root / "a.png", ns=(A_PNG_MTIME_NS, A_PNG_MTIME_NS))
    _write(root / "photo.jpe", b"\xff\xd8\xff\xe0photo")
    for extension in APPENDIX_A:
        _write(root / f"type{extension}", f"type{extension}".encode())
    _write(root / "UP.PNG", b"upper-case png")
    _write(root / "Mixed.JpEg", b"mixed-case jpeg")
    _write(root / "pic.SVG", SVG)
    for name in ("notes.txt", "page.html", "script.js", "style.css", "noext", "a.tar.gz"):
        _write(root / name, b"<html><script>alert(1)</script></html>")
    _write(root / "empty.png", b"")
    _write(root / "vec.svg", SVG)
    _write(root / "sub" / "b.png", b"b.png in sub")
    _write(root / "big.png", random.Random(8).randbytes(BIG_SIZE))  # noqa: S311
    _write(root / "range.png", RANGE_DATA)
    with open(root / "large.png", "wb") as large:
        large.truncate(LARGE_SIZE)
    _write(root / "future.png", b"from the future")
    future = time.time_ns() + 10 * 24 * 3600 * 10**9
    os.utime(root / "future.png", ns=(future, future))
    for name in SAFE_NAMES:
        _attempt(tree, name, _write, root / name, f"safe:{name}".encode())
    for key, rel in _BAITS.items():
        _attempt(tree, key, _write, tree.path(rel), b"bait:" + rel)

    _make_links(tree)
    _make_special(tree)
    return tree


def _make_links(tree: SpecTree) -> None:
    root, base = tree.root, tree.base
    links = {
        "in.png": "a.png",
        "indir": "sub",
        "sub/up.png": os.path.join("..", "a.png"),  # a link in a subdirectory, inside
        "sub/out.png": os.path.join("..", "..", "secret.png"),
        "out.png": str(base / "secret.png"),
        "outdir": str(base / "outside"),
        # Resolves to <base>/images_secret/secret.png: its path *string* starts with
        # the root's, which only a component-wise comparison tells apart.
        "prefix.png": os.path.join("..", f"{root.name}_secret", "secret.png"),
        "loop.png": "loop.png",
        "dangling.png": "nothing-here.png",
    }
    for name, target in links.items():
        _attempt(tree, name, os.symlink, target, root / name, name.endswith("dir"))
    _attempt(tree, "linked-root", os.symlink, root, base / "linked-root", True)


def _make_device(path: Path) -> None:
    """A character device like /dev/null inside the root (needs root, or CAP_MKNOD)."""
    mknod = getattr(os, "mknod", None)
    makedev = getattr(os, "makedev", None)
    if mknod is None or makedev is None:
        raise NotImplementedError("this platform has no os.mknod")
    mknod(path, 0o644 | stat.S_IFCHR, makedev(1, 3))


def _make_special(tree: SpecTree) -> None:
    root = tree.root
    _attempt(tree, "dev.png", _make_device, root / "dev.png")
    mkfifo = getattr(os, "mkfifo", None)
    if mkfifo is None:
        tree.missing["pipe.png"] = "this platform has no os.mkfifo"
    else:
        try:
            mkfifo(root / "pipe.png")
        except OSError as exc:
            tree.missing["pipe.png"] = f"cannot create a FIFO here: {exc}"
    family = getattr(socket, "AF_UNIX", None)
    if family is None:
        tree.missing["sock.png"] = "this platform has no AF_UNIX sockets"
        return
    # A socket path is limited to ~100 bytes, so bind a relative name from the root.
    cwd = os.getcwd()
    try:
        os.chdir(root)
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind("sock.png")
    except OSError as exc:
        tree.missing["sock.png"] = f"cannot create a socket file here: {exc}"
    finally:
        os.chdir(cwd)
    with contextlib.suppress(OSError):
        os.chmod(root / "sock.png", 0o644)
