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
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from typing import Final, Protocol

from ._dates import format_http_date, parse_http_date
from ._errors import ConfigurationError
from ._etags import matches_strong, matches_weak
from ._media_types import guess_type
from ._paths import is_safe_path

__all__ = ["FileBody", "Headers", "Response", "StaticFiles"]


class Headers(Protocol):
    """Read access to request headers by lower-case name (``'if-none-match'``)."""

    def get(self, name: str, /) -> str | None: ...


@dataclass(frozen=True, slots=True)
class FileBody:
    """A body to send from an open file: ``length`` bytes starting at ``offset``.

    The adapter owns ``file`` from the moment it receives the response and must
    close it, also when the client goes away (SPEC 6.2).
    """

    file: io.FileIO
    offset: int
    length: int
    path: str


@dataclass(frozen=True, slots=True)
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

_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
    # A FIFO opened for reading blocks until a writer appears; with O_NONBLOCK the
    # open returns at once and fstat below refuses it (SPEC 2.4).  Reads of a
    # regular file ignore the flag.
    | getattr(os, "O_NONBLOCK", 0)
)

_FD_LINK_DIR: Final = "/proc/self/fd/" if sys.platform.startswith("linux") else None


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
    :raises ConfigurationError: when ``root`` exists and is not a directory.
    """

    __slots__ = ("_error_headers", "_mount_prefix", "_real_root", "cors", "mount", "root")

    def __init__(self, root: str | os.PathLike[str], mount: str, *, cors: bool = False) -> None:
        root = os.fspath(root)
        if not isinstance(root, str) or not root:
            raise ConfigurationError(f"root must be a non-empty path, got {root!r}")
        if os.path.exists(root) and not os.path.isdir(root):
            raise ConfigurationError(f"root must be a directory, got {root!r}")
        if not isinstance(mount, str):
            raise ConfigurationError(f"mount must be a str, got {mount!r}")
        self.root = root
        self.mount = "/" + mount.strip("/")
        self.cors = bool(cors)
        # "/" + "" for a mount at the top: every path is under it.
        self._mount_prefix = self.mount.rstrip("/") + "/"
        real_root = os.path.realpath(root)
        self._real_root = real_root if real_root.endswith(os.sep) else real_root + os.sep
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
        try:
            fd = os.open(filename, _OPEN_FLAGS)
        except (OSError, ValueError):  # SPEC 2.5: missing, unreadable, too long, ...
            return self._error(404, method)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or not self._contains(fd, filename):
                os.close(fd)  # SPEC 2.3, 2.4
                return self._error(404, method)
            return self._respond(method, fd, st, rest, filename, headers)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise

    def _contains(self, fd: int, filename: str) -> bool:
        """Whether the open file lies inside the root once every link is resolved."""
        if _FD_LINK_DIR is not None:
            try:
                # The kernel's own name for what we opened: no race with a
                # concurrent rename or symlink swap.
                real = os.readlink(_FD_LINK_DIR + str(fd))
            except OSError:
                real = os.path.realpath(filename)
        else:
            real = os.path.realpath(filename)
        return real.startswith(self._real_root)

    def _respond(
        self, method: str, fd: int, st: os.stat_result, rest: str, filename: str, headers: Headers
    ) -> Response:
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'  # SPEC 3.3
        # SPEC 3.4: never later than now.
        modified = min(st.st_mtime_ns // 1_000_000_000, int(time.time()))
        last_modified = _http_date(modified)

        status = self._evaluate_preconditions(headers, etag, modified, last_modified)
        if status == 412:
            os.close(fd)
            return self._error(412, method)
        if status == 304:
            os.close(fd)
            not_modified = [("ETag", etag), _NOSNIFF]  # SPEC 4.5
            if self.cors:
                not_modified.append(_CORS)
            return Response(304, not_modified, b"")

        content_type = guess_type(rest)
        response_headers = [
            ("Content-Type", content_type),  # SPEC 3.1
            ("Content-Length", str(st.st_size)),  # SPEC 3.2
            ("ETag", etag),
            ("Last-Modified", last_modified),
            _NOSNIFF,
        ]
        if content_type == "image/svg+xml":
            response_headers.append(_SVG_CSP)
        if self.cors:
            response_headers.append(_CORS)
        if method == "HEAD":  # SPEC 1.3: the headers of a GET, no bytes read
            os.close(fd)
            return Response(200, response_headers, b"")
        return Response(
            200,
            response_headers,
            FileBody(io.FileIO(fd, "rb"), 0, st.st_size, filename),
        )

    @staticmethod
    def _evaluate_preconditions(
        headers: Headers, etag: str, modified: int, last_modified: str
    ) -> int:
        """Return 412, 304 or 200: RFC 9110 §13.2.2, in its order (SPEC 4)."""
        if_match = headers.get("if-match")
        if if_match is not None:
            if not matches_strong(if_match, etag):  # SPEC 4.1
                return 412
        else:
            since = headers.get("if-unmodified-since")
            if since is not None and since != last_modified:
                date = parse_http_date(since)
                if date is not None and modified > date:  # SPEC 4.2
                    return 412
        if_none_match = headers.get("if-none-match")
        if if_none_match is not None:
            return 304 if matches_weak(if_none_match, etag) else 200  # SPEC 4.3
        since = headers.get("if-modified-since")
        if since is not None:
            if since == last_modified:  # what browsers send back: no parsing needed
                return 304
            date = parse_http_date(since)
            if date is not None and modified <= date:  # SPEC 4.4
                return 304
        return 200
