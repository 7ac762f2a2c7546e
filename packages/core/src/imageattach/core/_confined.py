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
"""

from __future__ import annotations

import contextlib
import errno
import os
import platform
import sys
import time
import weakref
from collections.abc import Callable
from typing import Final

__all__ = ["OPEN_FLAGS", "ConfinedOpener"]

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
# How long a descriptor of the root is trusted before a miss checks whether the
# root directory was replaced (deleted and made again, or a symlink swapped).
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
        "_checked_at",
        "_follow",
        "_kernel",
        "_prefix",
        "_root_fd",
        "_root_id",
        "stat",
    )

    def __init__(self, real_root: str, *, follow_symlinks: bool = True) -> None:
        self._prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
        self._follow = follow_symlinks
        self._kernel = _OPENAT2 is not None
        self._root_fd = -1
        self._root_id: tuple[int, int] | None = None
        #: ``stat(rest)``: stat the file ``rest`` names, to see whether it is still
        #: one already opened; relative to the root's descriptor where there is one
        #: (the directory opens resolve in, and a shorter lookup).  With
        #: ``follow_symlinks=False`` a link is not followed, so a link put where a
        #: file was never matches it.
        self.stat: Callable[[str], os.stat_result] = self._stat_by_name
        self._checked_at = 0.0

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
            if code == errno.ENOENT and not self._root_is_stale():
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

    def _stat_by_name(self, rest: str) -> os.stat_result:
        return os.stat(self._prefix + rest, follow_symlinks=self._follow)

    def _bind_stat(self) -> None:
        """Point :attr:`stat` at the root's descriptor, or at names when there is none.

        :attr:`stat` is the engine's per-request revalidation of a 304 or a HEAD,
        so it is a closure with the descriptor bound: a ``functools.partial`` with
        keyword arguments builds a dict on every call, 0.15 us more (3% of a 304).
        A racing request that still holds the previous binding can only see a file
        that does not match what it remembers, and then opens it anew.
        """
        if self._root_fd < 0:
            self.stat = self._stat_by_name
            return
        fd, stat = self._root_fd, os.stat
        if self._follow:

            def stat_beneath(rest: str) -> os.stat_result:
                return stat(rest, dir_fd=fd)

        else:

            def stat_beneath(rest: str) -> os.stat_result:
                return stat(rest, dir_fd=fd, follow_symlinks=False)

        self.stat = stat_beneath

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
        try:
            fd = os.open(self._prefix, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
        except OSError:
            self._checked_at = time.monotonic()
            return False
        st = os.fstat(fd)
        self._root_fd = fd
        self._root_id = (st.st_ino, st.st_dev)
        self._bind_stat()
        self._checked_at = time.monotonic()
        weakref.finalize(self, _close_quietly, fd)
        return True

    def _close_root(self) -> None:
        if self._root_fd >= 0:
            _close_quietly(self._root_fd)
            self._root_fd = -1
            self._bind_stat()

    def _root_is_stale(self) -> bool:
        """After a miss: whether the root directory was replaced since we opened it.

        Checked at most once a second, so misses stay one system call.
        """
        now = time.monotonic()
        if now - self._checked_at < _ROOT_RECHECK_SECONDS:
            return False
        self._checked_at = now
        try:
            st = os.stat(self._prefix)
        except OSError:
            return False  # no root at all: the miss stands
        if (st.st_ino, st.st_dev) == self._root_id:
            return False
        self._close_root()  # reopened by the next open
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
