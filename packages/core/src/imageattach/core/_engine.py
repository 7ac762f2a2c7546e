"""The serving engine: every HTTP decision about an image request, as plain data.

An adapter (WSGI, ASGI, a Pyramid tween) hands :meth:`StaticFiles.decide` the
method, the percent-decoded path and a way to read request headers, and gets
back ``None`` ("not mine: call the wrapped application") or a :class:`Response`:
a status, a header list and a body plan, which is either bytes or an open file
slice.  The adapter only translates that record to its protocol; it holds no
status-code logic of its own.

The rules are those of ``spec/SPEC.md``; the section numbers below cite it.
The only I/O here is opening and ``fstat``-ing the one file a request names:
its headers and its body come from that one descriptor (SPEC 3.2).
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import time
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from typing import Final, NamedTuple, Protocol

from ._confined import ConfinedOpener
from ._dates import format_http_date, parse_http_date
from ._errors import ConfigurationError
from ._etags import matches_strong, matches_weak
from ._media_types import guess_type
from ._paths import is_safe_path

__all__ = ["FileBody", "Headers", "Response", "StaticFiles"]


class Headers(Protocol):
    """Read access to request headers by lower-case name (``'if-none-match'``)."""

    def get(self, name: str, /) -> str | None: ...


# Response and FileBody are slotted but not frozen: a frozen dataclass costs 0.7 us
# more to build, 7% of a whole 304.  Treat them as read-only all the same.


@dataclass(slots=True)
class FileBody:
    """A body to send from an open file: ``length`` bytes starting at ``offset``.

    The adapter owns ``file`` from the moment it receives the response and must
    close it, also when the client goes away (SPEC 6.2).
    """

    file: io.FileIO
    offset: int
    length: int
    path: str


@dataclass(slots=True)
class Response:
    """An answer to one request: status, header fields, and a body plan."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes | FileBody

    @property
    def status_line(self) -> str:
        """The status as a WSGI status string, e.g. ``'200 OK'``."""
        return _STATUS_LINES[self.status]

    def close(self) -> None:
        """Close the file of a file body, if any.  Safe to call more than once."""
        if isinstance(self.body, FileBody):
            self.body.file.close()


# --- The rules as tables --------------------------------------------------------------------

#: Methods served under the mount (SPEC 1.2); everything else is a 405.
SERVED_METHODS: Final = frozenset({"GET", "HEAD"})
ALLOW: Final = "GET, HEAD"

_STATUS_LINES: Final = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}

#: Sent on every response of the server (SPEC 3.5).
_NOSNIFF: Final = ("X-Content-Type-Options", "nosniff")
#: Sent with SVG, so that script in an uploaded SVG cannot run in the site's origin (SPEC 3.6).
_SVG_CSP: Final = (
    "Content-Security-Policy",
    "default-src 'none'; style-src 'unsafe-inline'; sandbox",
)
_CORS: Final = ("Access-Control-Allow-Origin", "*")  # SPEC 5.2

_ERROR_BODIES: Final = {
    404: b"Not Found\n",
    405: b"Method Not Allowed\n",
    412: b"Precondition Failed\n",
}


@lru_cache(maxsize=8192)
def _http_date(seconds: int) -> str:
    return format_http_date(seconds)


class StaticFiles:
    """Serve the regular files below ``root`` under the URL path ``mount``.

    :param root: the directory to serve.  It may not exist yet (a store creates
        it on the first upload); if it exists it must be a directory.
    :param mount: the URL path the files appear under, e.g. ``'/__images__'``.
        Leading and trailing slashes are normalized.
    :param cors: send ``Access-Control-Allow-Origin: *`` with every file response.
    :param cache_size: how many files' validators and headers to keep.  An entry
        is only used while a fresh ``stat`` shows the very same file (inode,
        device, size, mtime and ctime), so a changed, replaced or deleted file is
        never answered from it; missing files are never kept.
    :raises ConfigurationError: when ``root`` exists and is not a directory, or
        ``cache_size`` is not a non-negative integer.
    """

    __slots__ = (
        "_entries",
        "_error_headers",
        "_mount_prefix",
        "_opener",
        "_real_root",
        "cache_size",
        "cors",
        "mount",
        "root",
    )

    def __init__(
        self,
        root: str | os.PathLike[str],
        mount: str,
        *,
        cors: bool = False,
        cache_size: int = 4096,
    ) -> None:
        root = os.fspath(root)
        if not isinstance(root, str) or not root:
            raise ConfigurationError(f"root must be a non-empty path, got {root!r}")
        if os.path.exists(root) and not os.path.isdir(root):
            raise ConfigurationError(f"root must be a directory, got {root!r}")
        if not isinstance(mount, str):
            raise ConfigurationError(f"mount must be a str, got {mount!r}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigurationError(f"cache_size must be a non-negative int, got {cache_size!r}")
        self.root = root
        self.cache_size = cache_size
        self._entries: dict[str, _Entry] = {}
        self.mount = "/" + mount.strip("/")
        self.cors = bool(cors)
        # "/" + "" for a mount at the top: every path is under it.
        self._mount_prefix = self.mount.rstrip("/") + "/"
        real_root = os.path.realpath(root)
        self._real_root = real_root if real_root.endswith(os.sep) else real_root + os.sep
        self._opener = ConfinedOpener(self._real_root)
        self._error_headers = {
            status: [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                _NOSNIFF,
            ]
            for status, body in _ERROR_BODIES.items()
        }

    def __repr__(self) -> str:
        return f"StaticFiles({self.root!r}, {self.mount!r}, cors={self.cors!r})"

    # --- the decision ----------------------------------------------------------------------

    def decide(self, method: str, path: str, headers: Headers) -> Response | None:
        """Decide the answer to a request for ``path``; ``None`` means "not mine".

        :param method: the request method, e.g. ``'GET'``.
        :param path: the request path, percent-decoded once, without the query
            string.  Bytes that were not UTF-8 may be passed as lone surrogates
            (``surrogateescape``); such a path is never served.
        :param headers: the request headers, read by lower-case name.
        """
        prefix = self._mount_prefix
        if not path.startswith(prefix):
            return None  # SPEC 1.1
        if method not in SERVED_METHODS:
            response = self._error(405, method)  # SPEC 1.2: before the path, before preconditions
            response.headers.append(("Allow", ALLOW))
            return response
        rest = path[len(prefix) :]
        if not is_safe_path(rest):  # SPEC 2.1, before any filesystem call
            return self._error(404, method)
        return self._serve(method, rest, headers)

    def _error(self, status: int, method: str) -> Response:
        return Response(
            status,
            list(self._error_headers[status]),
            b"" if method == "HEAD" else _ERROR_BODIES[status],
        )

    def _serve(self, method: str, rest: str, headers: Headers) -> Response:
        filename = self._real_root + (rest if os.sep == "/" else rest.replace("/", os.sep))
        conditions = _Conditions.read(headers)
        entry = self._entries.get(rest)
        if entry is not None and (conditions is not None or method == "HEAD"):
            # A file we have opened and checked before: one stat tells whether it is
            # still the same file, and a 304, 412 or HEAD needs no more.
            try:
                st = os.stat(filename)
            except (OSError, ValueError):
                return self._error(404, method)
            if _identity(st) == entry.identity:
                response = self._answer(method, entry, conditions)
                if response is not None:
                    return response
        try:
            # SPEC 2.3, at the open itself: every byte sent comes from a file that
            # was confined to the root when it was opened, whatever the cache knows.
            fd = self._opener.open(rest, filename)
        except (OSError, ValueError):  # SPEC 2.5: missing, outside, unreadable, too long
            return self._error(404, method)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):  # SPEC 2.4
                os.close(fd)
                return self._error(404, method)
            identity = _identity(st)
            if entry is None or entry.identity != identity:
                entry = self._remember(rest, st, identity)
            response = self._answer(method, entry, conditions)
            if response is not None:
                os.close(fd)
                return response
            return Response(
                200,
                list(entry.headers),
                FileBody(io.FileIO(fd, "rb"), 0, st.st_size, filename),
            )
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise

    def _answer(
        self, method: str, entry: _Entry, conditions: _Conditions | None
    ) -> Response | None:
        """The response that needs no file body, or ``None`` for a GET to send it."""
        if conditions is not None:
            status = conditions.evaluate(entry.etag, entry.modified, entry.last_modified)
            if status == 304:
                return Response(304, list(entry.not_modified_headers), b"")  # SPEC 4.5
            if status == 412:
                return self._error(412, method)
        if method == "HEAD":  # SPEC 1.3: the headers of a GET, no bytes read
            return Response(200, list(entry.headers), b"")
        return None

    def _remember(self, rest: str, st: os.stat_result, identity: _Identity) -> _Entry:
        """Compute the validators and header set of a file once, and keep them."""
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'  # SPEC 3.3
        mtime = st.st_mtime_ns // 1_000_000_000
        now = int(time.time())
        modified = min(mtime, now)  # SPEC 3.4: never later than now
        last_modified = _http_date(modified)
        content_type = guess_type(rest)
        headers = [
            ("Content-Type", content_type),  # SPEC 3.1
            ("Content-Length", str(st.st_size)),  # SPEC 3.2
            ("ETag", etag),
            ("Last-Modified", last_modified),
            _NOSNIFF,
        ]
        if content_type == "image/svg+xml":
            headers.append(_SVG_CSP)
        not_modified = [("ETag", etag), _NOSNIFF]
        if self.cors:
            headers.append(_CORS)
            not_modified.append(_CORS)
        entry = _Entry(
            identity, etag, modified, last_modified, tuple(headers), tuple(not_modified)
        )
        if self.cache_size and mtime <= now:  # a future date is clamped anew each time
            entries = self._entries
            if len(entries) >= self.cache_size:
                # Forget the oldest; a race with another thread only forgets another.
                with contextlib.suppress(StopIteration, RuntimeError, KeyError):
                    del entries[next(iter(entries))]
            entries[rest] = entry
        return entry


# --- per-file metadata, revalidated on every request -----------------------------------------

#: What makes a file the same file: inode, device, size, mtime and ctime.  The
#: ctime moves on any rename, link, chmod or write of the inode, so a file moved
#: out of the root and linked back in is checked again.
_Identity = tuple[int, int, int, int, int]


def _identity(st: os.stat_result) -> _Identity:
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class _Entry(NamedTuple):
    """What the engine knows of a file it has opened and checked: computed once."""

    identity: _Identity
    etag: str
    modified: int
    last_modified: str
    headers: tuple[tuple[str, str], ...]
    not_modified_headers: tuple[tuple[str, str], ...]


class _Conditions(NamedTuple):
    """The precondition header fields of a request (RFC 9110 §13.1)."""

    if_match: str | None
    if_unmodified_since: str | None
    if_none_match: str | None
    if_modified_since: str | None

    @classmethod
    def read(cls, headers: Headers) -> _Conditions | None:
        """The request's preconditions, or ``None`` when it has none (the common case)."""
        if_match = headers.get("if-match")
        if_unmodified_since = headers.get("if-unmodified-since")
        if_none_match = headers.get("if-none-match")
        if_modified_since = headers.get("if-modified-since")
        if (
            if_match is None
            and if_unmodified_since is None
            and if_none_match is None
            and if_modified_since is None
        ):
            return None
        return cls(if_match, if_unmodified_since, if_none_match, if_modified_since)

    def evaluate(self, etag: str, modified: int, last_modified: str) -> int:
        """Return 412, 304 or 200: RFC 9110 §13.2.2, in its order (SPEC 4)."""
        if_match, if_unmodified_since, if_none_match, since = self
        if if_match is not None:
            if not matches_strong(if_match, etag):  # SPEC 4.1
                return 412
        elif if_unmodified_since is not None and if_unmodified_since != last_modified:
            date = parse_http_date(if_unmodified_since)
            if date is not None and modified > date:  # SPEC 4.2
                return 412
        if if_none_match is not None:
            return 304 if matches_weak(if_none_match, etag) else 200  # SPEC 4.3
        if since is not None:
            if since == last_modified:  # what browsers send back: no parsing needed
                return 304
            date = parse_http_date(since)
            if date is not None and modified <= date:  # SPEC 4.4
                return 304
        return 200
