"""Open a file below a root so that nothing outside the root can be opened (SPEC 2.3).

On Linux 5.6 and newer the kernel does it: ``openat2()`` with ``RESOLVE_BENEATH``
resolves the path relative to a descriptor of the root and fails with ``EXDEV``
for any ``..``, absolute symlink or magic link that would leave it, in one
system call and without a race.  Python has no binding for ``openat2``, so it is
called through :mod:`ctypes`.

Everywhere else, and for what ``RESOLVE_BENEATH`` refuses but the rule allows
(an absolute symlink whose target is inside the root), the file is opened by
name and the opened descriptor's real path is checked: ``/proc/self/fd`` on
Linux, :func:`os.path.realpath` elsewhere.

With ``follow_symlinks=False`` (SPEC 2.7) the kernel is also told to refuse
every link (``RESOLVE_NO_SYMLINKS``), and the fallback asks that the real path
be exactly the root followed by the requested path, which holds only when no
component was a link.

The engine's other question, whether a path still names the file it opened
before (SPEC 10.4, on every 304), is :attr:`ConfinedOpener.same`: the C function
of :mod:`imageattach.core._speedups` where it was built, else :func:`os.stat`.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import platform
import sys
import time
import weakref
from collections.abc import Callable
from typing import Final

__all__ = ["OPEN_FLAGS", "ConfinedOpener", "Identity", "file_identity"]

OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
    # A FIFO opened for reading blocks until a writer appears; with O_NONBLOCK the
    # open returns at once and the caller's fstat refuses it (SPEC 2.4).  Reads of
    # a regular file ignore the flag.
    | getattr(os, "O_NONBLOCK", 0)
)

_FD_LINK_DIR: Final = "/proc/self/fd/" if sys.platform.startswith("linux") else None

# openat2 is system call 437 on every architecture of the unified table; only
# those listed here are trusted with a raw syscall number.
_OPENAT2_MACHINES: Final = frozenset(
    {
        "x86_64",
        "amd64",
        "aarch64",
        "arm64",
        "i386",
        "i686",
        "armv7l",
        "ppc64le",
        "s390x",
        "riscv64",
    }
)
_SYS_OPENAT2: Final = 437
_RESOLVE_NO_MAGICLINKS: Final = 0x02
_RESOLVE_NO_SYMLINKS: Final = 0x04
_RESOLVE_BENEATH: Final = 0x08
# How long a descriptor of the root is trusted before it is compared with the
# directory at the root's path again (SPEC 10.5: a replaced root is served from
# within a second).
_ROOT_RECHECK_SECONDS: Final = 1.0


def _load_openat2() -> tuple[object, object, object, int] | None:
    """The ctypes pieces to call openat2, or ``None`` where it cannot be used.

    A syscall function, then ``struct open_how`` pointers for following links
    inside the root and for refusing every link, and the struct's size.
    """
    if not sys.platform.startswith("linux") or platform.machine() not in _OPENAT2_MACHINES:
        return None
    try:
        import ctypes  # noqa: PLC0415 - only on Linux, only once
    except ImportError:  # pragma: no cover - a Python built without ctypes
        return None

    class OpenHow(ctypes.Structure):
        _fields_ = [
            ("flags", ctypes.c_uint64),
            ("mode", ctypes.c_uint64),
            ("resolve", ctypes.c_uint64),
        ]

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
    except (OSError, AttributeError):  # pragma: no cover - no libc symbol table
        return None
    syscall.restype = ctypes.c_long
    syscall.argtypes = [
        ctypes.c_long,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_size_t,
    ]
    beneath = OpenHow(OPEN_FLAGS, 0, _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS)
    no_links = OpenHow(
        OPEN_FLAGS, 0, _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS | _RESOLVE_NO_SYMLINKS
    )
    return syscall, ctypes.pointer(beneath), ctypes.pointer(no_links), ctypes.sizeof(beneath)


_OPENAT2: Final = _load_openat2()

#: What makes a file the same file: mtime, size, inode, device and ctime, as
#: :func:`os.stat` gives them.  The ctime moves on any rename, link, chmod or write
#: of the inode, so a file moved out of the root and linked back in is new.
Identity = tuple[int, int, int, int, int]


def file_identity(st: os.stat_result) -> Identity:
    """The :data:`Identity` of a stat result."""
    # The fields most likely to differ first: a comparison stops at the first.
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev, st.st_ctime_ns)


def _load_same_file() -> Callable[[int | None, bool, str, Identity], bool] | None:
    """The compiled check of :mod:`imageattach.core._speedups`, unless missing or refused.

    ``IMAGEATTACH_NO_EXTENSIONS`` set to anything but the empty string refuses it.
    """
    if os.environ.get("IMAGEATTACH_NO_EXTENSIONS"):
        return None
    try:
        from imageattach.core._speedups import same_file  # noqa: PLC0415 - optional
    except ImportError:
        return None
    return same_file


_SAME_FILE: Final = _load_same_file()


def _get_errno() -> int:
    import ctypes  # noqa: PLC0415 - already imported when this runs

    return ctypes.get_errno()


class ConfinedOpener:
    """Open paths relative to ``real_root`` (an absolute, resolved directory path).

    :meth:`open` returns a descriptor of a file inside the root, or raises
    :exc:`OSError` (``FileNotFoundError`` for a missing file, ``PermissionError``
    with ``EXDEV`` for one outside the root or, with ``follow_symlinks=False``,
    reached through a link).
    """

    __slots__ = (
        "__weakref__",
        "_closer",
        "_follow",
        "_kernel",
        "_prefix",
        "_retired",
        "_root_fd",
        "_root_id",
        "check_at",
        "same",
    )

    def __init__(self, real_root: str, *, follow_symlinks: bool = True) -> None:
        self._prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
        self._follow = follow_symlinks
        self._kernel = _OPENAT2 is not None
        self._root_fd = -1
        self._root_id: tuple[int, int] | None = None
        #: ``same(rest, identity)``: whether the file ``rest`` names is still the one
        #: of that :data:`Identity`, opened before; false when it is missing or out
        #: of reach.  Relative to the root's descriptor where there is one (the
        #: directory opens resolve in, and a shorter lookup).  With
        #: ``follow_symlinks=False`` a link is not followed, so a link put where a
        #: file was never matches it.
        self.same: Callable[[str, Identity], bool]
        self._bind_same()
        #: When :meth:`check_root` is next due, by :func:`time.monotonic`.  The
        #: engine calls it then, on whatever request comes; a miss does too.
        self.check_at = 0.0
        #: Closes the root's descriptor, once: at :meth:`check_root` after the
        #: root was replaced, or when the opener is collected.
        self._closer: weakref.finalize[..., ConfinedOpener] | None = None
        #: Closers of descriptors of replaced roots, run a check later (below).
        self._retired: list[weakref.finalize[..., ConfinedOpener]] = []

    @property
    def uses_openat2(self) -> bool:
        """Whether the kernel confines the opens (Linux 5.6+, allowed by seccomp)."""
        return self._kernel and self._root_fd >= 0

    def open(self, rest: str, filename: str) -> int:
        """Open ``rest`` (a safe relative path) whose full name is ``filename``."""
        if self._kernel:
            fd = self._open_beneath(rest)
            if fd >= 0:
                return fd
            code = -fd
            if code == errno.ENOENT and not (
                time.monotonic() >= self.check_at and self.check_root()
            ):
                raise FileNotFoundError(code, os.strerror(code), filename)
            if not self._follow and code in {errno.ELOOP, errno.EXDEV}:
                raise PermissionError(errno.EXDEV, "a symbolic link, refused", filename)
            if code not in {errno.EXDEV, errno.ELOOP, errno.ENOENT, errno.EBADF}:
                raise OSError(code, os.strerror(code), filename)
            # EXDEV/ELOOP: a link the kernel will not follow beneath the root, which
            # may still lead inside it (an absolute symlink); ENOENT/EBADF: the root
            # was replaced.  Decide by name, below.
        fd = os.open(filename, OPEN_FLAGS)
        try:
            inside = self._is_inside(fd, filename)
        except BaseException:
            os.close(fd)
            raise
        if not inside:
            os.close(fd)
            raise PermissionError(errno.EXDEV, "outside the served directory", filename)
        return fd

    def _bind_same(self) -> None:
        """Point :attr:`same` at the root's descriptor, or at names when there is none.

        :attr:`same` is the engine's per-request revalidation of a 304 or a HEAD,
        so it is bound once per descriptor: the compiled check in a
        :func:`functools.partial` of positional arguments (no Python frame), or a
        closure over :func:`os.stat` (a ``partial`` with keyword arguments would
        build a dict on every call).  A racing request that still holds the
        previous binding can only see a file that does not match what it
        remembers, and then opens it anew.
        """
        fd, follow, prefix = self._root_fd, self._follow, self._prefix
        same_file, stat = _SAME_FILE, os.stat
        if fd >= 0 and same_file is not None:
            self.same = functools.partial(same_file, fd, follow)
        elif same_file is not None:

            def same_by_name(rest: str, identity: Identity) -> bool:
                return same_file(None, follow, prefix + rest, identity)

            self.same = same_by_name
        else:

            def same_by_stat(rest: str, identity: Identity) -> bool:
                try:
                    if fd >= 0:
                        st = stat(rest, dir_fd=fd, follow_symlinks=follow)
                    else:
                        st = stat(prefix + rest, follow_symlinks=follow)
                except (OSError, ValueError):
                    return False
                return file_identity(st) == identity

            self.same = same_by_stat

    def _open_beneath(self, rest: str) -> int:
        """openat2 below the root: a descriptor, or minus the errno."""
        assert _OPENAT2 is not None
        if self._root_fd < 0 and not self._open_root():
            return -errno.ENOENT
        syscall, beneath, no_links, size = _OPENAT2
        how = beneath if self._follow else no_links
        fd: int = syscall(_SYS_OPENAT2, self._root_fd, os.fsencode(rest), how, size)  # type: ignore[operator]
        if fd >= 0:
            return fd
        code = _get_errno()
        if code in {errno.ENOSYS, errno.EPERM, errno.EINVAL, errno.E2BIG}:
            # An old kernel, or a seccomp filter that forbids openat2: stop trying.
            self._kernel = False
            self._close_root()
            return -errno.EXDEV
        return -code

    def _open_root(self) -> bool:
        self.check_at = time.monotonic() + _ROOT_RECHECK_SECONDS
        try:
            fd = os.open(self._prefix, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
        except OSError:
            return False
        st = os.fstat(fd)
        self._root_fd = fd
        self._root_id = (st.st_ino, st.st_dev)
        self._closer = weakref.finalize(self, _close_quietly, fd)
        self._bind_same()
        return True

    def _close_root(self) -> None:
        """Stop using the root's descriptor; the next open opens the root at its path.

        The descriptor itself is closed only at the next :meth:`check_root`, at
        least a second later: a request running in another thread may have read
        it just before, and a number closed under it could be reused by an
        unrelated directory that its open would then resolve beneath.
        """
        if self._root_fd >= 0:
            self._root_fd = -1
            self._bind_same()
            if self._closer is not None:
                self._retired.append(self._closer)
                self._closer = None

    def check_root(self) -> bool:
        """Whether the root was replaced since its descriptor was opened (SPEC 10.5).

        When it was, or nothing is at the root's path any more, the descriptor
        is dropped and the next open opens the directory now at the path.  The
        engine calls this when :attr:`check_at` is due, so a request pays a
        clock read for it, and one in a second a ``stat``.
        """
        self.check_at = time.monotonic() + _ROOT_RECHECK_SECONDS
        retired, self._retired = self._retired, []
        for closer in retired:
            closer()  # dropped a check ago: no request still holds the number
        if self._root_fd < 0:
            return False
        try:
            st = os.stat(self._prefix)
        except OSError:
            pass  # no root at its path: nothing of the old one is served either
        else:
            if (st.st_ino, st.st_dev) == self._root_id:
                return False
        self._close_root()
        return True

    def _is_inside(self, fd: int, filename: str) -> bool:
        """Whether the open file lies inside the root once every link is resolved."""
        real = None
        if _FD_LINK_DIR is not None:
            try:
                # The kernel's own name for what was opened: no race with a
                # concurrent rename or symlink swap.
                real = os.readlink(_FD_LINK_DIR + str(fd))
            except OSError:
                real = None
        if real is None:
            real = os.path.realpath(filename)
        if not self._follow:
            return real == filename  # any link on the way would have changed the name
        return real.startswith(self._prefix)


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
