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
import secrets
import stat
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from typing import Final, Literal, NamedTuple, Protocol

from ._confined import ConfinedOpener, Identity, file_identity
from ._dates import format_http_date, parse_http_date
from ._errors import ConfigurationError
from ._etags import matches_strong, matches_weak
from ._media_types import guess_type
from ._paths import is_safe_path
from ._ranges import UNSATISFIABLE, ByteRange, parse_ranges

__all__ = [
    "DEFAULT_CACHE_CONTROL",
    "REQUEST_FIELDS",
    "VERSIONED_CACHE_CONTROL",
    "BlockIterable",
    "FileBody",
    "Headers",
    "Response",
    "StaticFiles",
]


class Headers(Protocol):
    """Read access to request headers: ``get(key)`` gives a value or ``None``.

    The keys are lower-case field names (``'if-none-match'``) by default, or
    WSGI environ keys (``'HTTP_IF_NONE_MATCH'``) for an engine made with
    ``header_keys="environ"``, so a WSGI adapter can pass the environ itself.
    """

    def get(self, key: str, /) -> str | None: ...


HeaderKeys = Literal["field", "environ"]

# Response and FileBody are slotted but not frozen: a frozen dataclass costs 0.7 us
# more to build, 7% of a whole 304.  Treat them as read-only all the same.


@dataclass(slots=True)
class FileBody:
    """A body to send from an open file.

    ``length`` bytes in all (the ``Content-Length``).  For a single slice they
    start at ``offset``; for a ``multipart/byteranges`` body (SPEC 9.6), ``parts``
    lists the delimiters (``bytes``) and file ranges (:class:`ByteRange`) in order.
    ``whole`` is true when the body is the whole file from byte 0, so an adapter
    may hand the file to a zero-copy path (``wsgi.file_wrapper``, sendfile,
    ``http.response.pathsend``); otherwise use :meth:`blocks`.

    The adapter owns ``file`` from the moment it receives the response and must
    close it, also when the client goes away (SPEC 6.2).
    """

    file: io.FileIO
    offset: int
    length: int
    path: str
    whole: bool = True
    parts: tuple[bytes | ByteRange, ...] = ()

    def blocks(self, block_size: int = 65536) -> Generator[bytes, None, None]:
        """Yield the body in blocks of at most ``block_size`` bytes.

        File bytes are read at their offsets (``pread``), never by reading and
        discarding what comes before them (SPEC 9.8).  Stops early, without
        error, if the file turns out shorter than when it was opened.
        """
        if not self.parts:
            yield from _read_slice(self.file, self.offset, self.length, block_size)
            return
        for part in self.parts:
            if isinstance(part, bytes):
                yield part
            else:
                yield from _read_slice(self.file, part.start, part.length, block_size)


def _read_slice(file: io.FileIO, offset: int, length: int, block_size: int) -> Iterator[bytes]:
    fd = file.fileno()
    end = offset + length
    while offset < end:
        if _pread is not None:
            block = _pread(fd, min(block_size, end - offset), offset)
        else:  # pragma: no cover - Windows has no pread
            file.seek(offset)
            block = file.read(min(block_size, end - offset))
        if not block:
            return
        offset += len(block)
        yield block


_pread = getattr(os, "pread", None)


class BlockIterable:
    """A :class:`FileBody` as an iterable of blocks whose ``close()`` closes the file.

    The shape of a WSGI response iterable (PEP 3333), for bodies that must be
    read at their offsets: ranges and ``multipart/byteranges``.
    """

    __slots__ = ("_blocks", "_body")

    def __init__(self, body: FileBody, block_size: int) -> None:
        self._body = body
        self._blocks = body.blocks(block_size)

    def __iter__(self) -> Iterator[bytes]:
        return self._blocks

    def close(self) -> None:
        self._blocks.close()
        self._body.file.close()


_SLASH_IS_SEP: Final = os.sep == "/"
_monotonic: Final = time.monotonic


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

#: Methods served under the mount (SPEC 1.2); everything else is a 405, but OPTIONS
#: when CORS is on (SPEC 5.3, 5.4).
SERVED_METHODS: Final = frozenset({"GET", "HEAD"})
ALLOW: Final = "GET, HEAD"
ALLOW_WITH_CORS: Final = "GET, HEAD, OPTIONS"

#: SPEC 3.8: the default policy, and the one for URLs that carry locate()'s version.
DEFAULT_CACHE_CONTROL: Final = "public, max-age=60"
VERSIONED_CACHE_CONTROL: Final = "public, max-age=31536000, immutable"
#: The version locate() appends: ``_ts=`` and ``%Y%m%d%H%M%S%f``, 20 digits.
_VERSION_LENGTH: Final = 20

_STATUS_LINES: Final = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}

#: Sent on every response of the server (SPEC 3.5).
_NOSNIFF: Final = ("X-Content-Type-Options", "nosniff")
#: Errors may be followed by a file at the same path a moment later (SPEC 2.6, 10.1).
_NO_STORE: Final = ("Cache-Control", "no-store")
#: Sent with SVG, so that script in an uploaded SVG cannot run in the site's origin (SPEC 3.6).
_SVG_CSP: Final = (
    "Content-Security-Policy",
    "default-src 'none'; style-src 'unsafe-inline'; sandbox",
)
_SVG_ATTACHMENT: Final = ("Content-Disposition", "attachment")  # SPEC 3.11
_ACCEPT_RANGES: Final = ("Accept-Ranges", "bytes")  # SPEC 3.10
_CORS: Final = (  # SPEC 5.2
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "Accept-Ranges, Content-Length, Content-Range, ETag"),
)
_PREFLIGHT: Final = (  # SPEC 5.3: fixed lists, never copied from the request
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD"),
    (
        "Access-Control-Allow-Headers",
        "If-Match, If-Modified-Since, If-None-Match, If-Range, If-Unmodified-Since, Range",
    ),
    ("Access-Control-Max-Age", "86400"),
    _NOSNIFF,
)

_ERROR_BODIES: Final = {
    404: b"Not Found\n",
    405: b"Method Not Allowed\n",
    412: b"Precondition Failed\n",
    416: b"Range Not Satisfiable\n",
}

#: The request header fields the engine reads, by lower-case name: an adapter that
#: must gather headers itself (ASGI) needs only these.
REQUEST_FIELDS: Final = (
    "if-match",
    "if-unmodified-since",
    "if-none-match",
    "if-modified-since",
    "range",
    "if-range",
    "origin",
    "access-control-request-method",
)
_FIELDS: Final = REQUEST_FIELDS
_ENVIRON_KEYS: Final = tuple("HTTP_" + name.upper().replace("-", "_") for name in _FIELDS)


@lru_cache(maxsize=8192)
def _http_date(seconds: int) -> str:
    return format_http_date(seconds)


def _header_value(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.isprintable() or not value.isascii():
        raise ConfigurationError(
            f"{name} must be a header value of printable ASCII, got {value!r}"
        )
    return value


def _is_versioned(query: str) -> bool:
    """Whether the query string carries locate()'s version: ``_ts=`` and 20 digits (SPEC 3.8)."""
    for parameter in query.split("&"):
        if (
            parameter.startswith("_ts=")
            and len(parameter) == 4 + _VERSION_LENGTH
            and parameter[4:].isdecimal()
            and parameter[4:].isascii()
        ):
            return True
    return False


class StaticFiles:
    """Serve the regular files below ``root`` under the URL path ``mount``.

    :param root: the directory to serve.  It may not exist yet (a store creates
        it on the first upload); if it exists it must be a directory.
    :param mount: the URL path the files appear under, e.g. ``'/__images__'``.
        Leading and trailing slashes are normalized.
    :param cors: let pages on any origin load the files: CORS headers on file
        responses, and answers to preflight requests (SPEC 5).
    :param cache_size: how many files' validators and headers to keep.  An entry
        is only used while a fresh ``stat`` shows the very same file (inode,
        device, size, mtime and ctime), so a changed, replaced or deleted file is
        never answered from it; missing files are never kept (SPEC 10).
    :param cache_control: the ``Cache-Control`` of file responses (SPEC 3.8);
        ``None`` sends none.
    :param versioned_cache_control: the ``Cache-Control`` of file responses to
        URLs that carry the version ``locate()`` appends (``?_ts=...``).
    :param follow_symlinks: when false, refuse every path that passes through a
        symbolic link below the root (SPEC 2.7).  Links that lead out of the
        root are refused either way (SPEC 2.3).
    :param svg_as_attachment: send SVG files with ``Content-Disposition:
        attachment`` as well as their sandboxing policy (SPEC 3.11).
    :param header_keys: how :meth:`decide` asks its ``headers`` for a header:
        ``"field"`` by lower-case field name, ``"environ"`` by WSGI environ key.
    :raises ConfigurationError: when ``root`` exists and is not a directory, or
        another argument is out of its range.
    """

    __slots__ = (
        "_cache_headers",
        "_entries",
        "_error_headers",
        "_keys",
        "_methods",
        "_mount_prefix",
        "_not_modified",
        "_opener",
        "_real_root",
        "cache_control",
        "cache_size",
        "cors",
        "follow_symlinks",
        "mount",
        "root",
        "svg_as_attachment",
        "versioned_cache_control",
    )

    def __init__(
        self,
        root: str | os.PathLike[str],
        mount: str,
        *,
        cors: bool = False,
        cache_size: int = 4096,
        cache_control: str | None = DEFAULT_CACHE_CONTROL,
        versioned_cache_control: str | None = VERSIONED_CACHE_CONTROL,
        follow_symlinks: bool = True,
        svg_as_attachment: bool = False,
        header_keys: HeaderKeys = "field",
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
        if header_keys not in ("field", "environ"):
            raise ConfigurationError(
                f"header_keys must be 'field' or 'environ', got {header_keys!r}"
            )
        self.root = root
        self.cache_size = cache_size
        self.cache_control = _header_value("cache_control", cache_control)
        self.versioned_cache_control = _header_value(
            "versioned_cache_control", versioned_cache_control
        )
        self.follow_symlinks = bool(follow_symlinks)
        self.svg_as_attachment = bool(svg_as_attachment)
        self._cache_headers = (
            None if self.cache_control is None else ("Cache-Control", self.cache_control),
            None
            if self.versioned_cache_control is None
            else ("Cache-Control", self.versioned_cache_control),
        )
        #: A 304's header fields after its ETag (SPEC 4.5), unversioned and versioned.
        not_modified = [_NOSNIFF, *(_CORS if cors else ())]
        self._not_modified = (
            _with(not_modified, self._cache_headers[0]),
            _with(not_modified, self._cache_headers[1]),
        )
        self._keys = _FIELDS if header_keys == "field" else _ENVIRON_KEYS
        self._entries: dict[str, _Entry] = {}
        self.mount = "/" + mount.strip("/")
        self.cors = bool(cors)
        self._methods = SERVED_METHODS
        # "/" + "" for a mount at the top: every path is under it.
        self._mount_prefix = self.mount.rstrip("/") + "/"
        real_root = os.path.realpath(root)
        self._real_root = real_root if real_root.endswith(os.sep) else real_root + os.sep
        self._opener = ConfinedOpener(self._real_root, follow_symlinks=self.follow_symlinks)
        allow = ("Allow", ALLOW_WITH_CORS if self.cors else ALLOW)
        self._error_headers = {
            status: (
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                _NO_STORE,
                _NOSNIFF,
            )
            + ((allow,) if status == 405 else ())
            + (_CORS if self.cors and status == 416 else ())
            for status, body in _ERROR_BODIES.items()
        }

    def __repr__(self) -> str:
        return f"StaticFiles({self.root!r}, {self.mount!r}, cors={self.cors!r})"

    # --- the decision ----------------------------------------------------------------------

    def decide(self, method: str, path: str, headers: Headers, query: str = "") -> Response | None:
        """Decide the answer to a request for ``path``; ``None`` means "not mine".

        :param method: the request method, e.g. ``'GET'``.
        :param path: the request path, percent-decoded once, without the query
            string.  Bytes that were not UTF-8 may be passed as lone surrogates
            (``surrogateescape``); such a path is never served.
        :param headers: the request headers (see :class:`Headers`).
        :param query: the query string, without ``?``; it chooses no file, only
            the cache policy (SPEC 1.4, 3.8).
        """
        prefix = self._mount_prefix
        if not path.startswith(prefix):
            return None  # SPEC 1.1
        if method not in self._methods:
            # SPEC 1.2: before the path, before preconditions
            if method == "OPTIONS" and self.cors:
                return self._options(headers)
            return self._error(405, method)
        rest = path[len(prefix) :]
        entry = self._entries.get(rest)  # only ever holds paths that passed is_safe_path
        if entry is None and not is_safe_path(rest):  # SPEC 2.1, before any filesystem call
            return self._error(404, method)
        opener = self._opener
        if _monotonic() >= opener.check_at:  # SPEC 10.5: at most once a second
            opener.check_root()
        # What follows is one body rather than a call per step: it runs for every
        # file request, and on a 304 each Python call is a few percent of the whole.
        keys = self._keys
        get = headers.get
        # The preconditions (RFC 9110 §13.1).
        if_match = get(keys[0])
        if_unmodified_since = get(keys[1])
        if_none_match = get(keys[2])
        versioned = 1 if query and _is_versioned(query) else 0
        # A file we have opened and checked before: one stat tells whether it is still
        # the same file (SPEC 10.4), and a 304, 412 or HEAD needs no more.  First what a
        # browser revalidating its copy sends, the most common request of a busy
        # server: If-None-Match with our very tag, and nothing checked before it.
        if (
            entry is not None
            and if_none_match == entry.etag
            and if_match is None
            and if_unmodified_since is None
        ):
            if opener.same(rest, entry.identity):
                # The ETag tuple is made anew: the tag was just read, and the
                # cached tuple would be one more cold object to touch.
                return Response(304, [("ETag", entry.etag), *self._not_modified[versioned]], b"")
            entry = None  # not the same file any more: the open below decides
        if_modified_since = get(keys[3])  # never read above: If-None-Match overrides it
        conditions: _Conditions | None = None
        if (
            if_match is not None
            or if_unmodified_since is not None
            or if_none_match is not None
            or if_modified_since is not None
        ):
            # A value that is not text (an environ from a broken server) is no header.
            conditions = (
                if_match if type(if_match) is str else None,
                if_unmodified_since if type(if_unmodified_since) is str else None,
                if_none_match if type(if_none_match) is str else None,
                if_modified_since if type(if_modified_since) is str else None,
            )
        if (
            entry is not None
            and (conditions is not None or method == "HEAD")
            and opener.same(rest, entry.identity)  # as above, or the open decides
        ):
            response = self._answer(method, entry, conditions, versioned)
            if response is not None:
                return response
        filename = self._real_root + (rest if _SLASH_IS_SEP else rest.replace("/", os.sep))
        try:
            # SPEC 2.3, at the open itself: every byte sent comes from a file that
            # was confined to the root when it was opened, whatever the cache knows.
            fd = opener.open(rest, filename)
        except (OSError, ValueError):  # SPEC 2.5: missing, outside, unreadable, too long
            return self._error(404, method)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):  # SPEC 2.4
                os.close(fd)
                return self._error(404, method)
            identity = file_identity(st)
            if entry is None or entry.identity != identity:
                entry = self._remember(rest, st, identity)
            response = self._answer(method, entry, conditions, versioned)
            if response is not None:
                os.close(fd)
                return response
            range_value = headers.get(keys[4])
            if range_value is not None and type(range_value) is str:
                response = self._ranges(fd, filename, entry, range_value, headers, versioned)
                if response is not None:
                    return response
            return Response(
                200,
                list(entry.headers[versioned]),
                FileBody(io.FileIO(fd, "rb"), 0, entry.size, filename),
            )
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise

    def _error(self, status: int, method: str) -> Response:
        return Response(
            status,
            list(self._error_headers[status]),
            b"" if method == "HEAD" else _ERROR_BODIES[status],
        )

    def _options(self, headers: Headers) -> Response:
        keys = self._keys
        if headers.get(keys[6]) is not None and headers.get(keys[7]) is not None:
            return Response(204, list(_PREFLIGHT), b"")  # SPEC 5.3
        return Response(204, [("Allow", ALLOW_WITH_CORS), _NOSNIFF], b"")  # SPEC 5.4

    def _answer(
        self, method: str, entry: _Entry, conditions: _Conditions | None, versioned: int
    ) -> Response | None:
        """The response that needs no file body, or ``None`` for a GET to send it."""
        if conditions is not None:
            status = _evaluate(conditions, entry)
            if status == 304:  # SPEC 4.5
                return Response(304, [("ETag", entry.etag), *self._not_modified[versioned]], b"")
            if status == 412:
                return self._error(412, method)
        if method == "HEAD":  # SPEC 1.3: the headers of a GET, no bytes read; Range ignored
            return Response(200, list(entry.headers[versioned]), b"")
        return None

    def _ranges(
        self,
        fd: int,
        filename: str,
        entry: _Entry,
        value: str,
        headers: Headers,
        versioned: int,
    ) -> Response | None:
        """The 206 or 416 of a GET with ``Range`` (SPEC §9), or ``None`` for the full 200."""
        size = entry.size
        plan = parse_ranges(value, size)
        if plan is None:
            return None  # SPEC 9.2, 9.3: ignored
        if_range = headers.get(self._keys[5])
        if if_range is not None and not _if_range_holds(if_range, entry):
            return None  # SPEC 9.7
        if plan is UNSATISFIABLE:  # SPEC 9.4
            os.close(fd)
            response = self._error(416, "GET")
            response.headers.append(("Content-Range", f"bytes */{size}"))
            return response
        tail = entry.tail[versioned]
        if len(plan) == 1:  # SPEC 9.5
            (only,) = plan
            return Response(
                206,
                [
                    ("Content-Type", entry.content_type),
                    ("Content-Length", str(only.length)),
                    ("Content-Range", f"bytes {only.start}-{only.end}/{size}"),
                    *tail,
                ],
                FileBody(io.FileIO(fd, "rb"), only.start, only.length, filename, whole=False),
            )
        # SPEC 9.6: multipart/byteranges, unless it would be no smaller than the file.
        boundary = secrets.token_hex(16)
        parts: list[bytes | ByteRange] = []
        length = 0
        for number, byte_range in enumerate(plan):
            head = (
                f"{'' if number == 0 else CRLF}--{boundary}{CRLF}"
                f"Content-Type: {entry.content_type}{CRLF}"
                f"Content-Range: bytes {byte_range.start}-{byte_range.end}/{size}{CRLF}{CRLF}"
            ).encode("ascii")
            parts += (head, byte_range)
            length += len(head) + byte_range.length
        closing = f"{CRLF}--{boundary}--{CRLF}".encode("ascii")
        parts.append(closing)
        length += len(closing)
        if length >= size:
            return None
        return Response(
            206,
            [
                ("Content-Type", f"multipart/byteranges; boundary={boundary}"),
                ("Content-Length", str(length)),
                *tail,
            ],
            FileBody(io.FileIO(fd, "rb"), 0, length, filename, whole=False, parts=tuple(parts)),
        )

    def _remember(self, rest: str, st: os.stat_result, identity: Identity) -> _Entry:
        """Compute the validators and header set of a file once, and keep them."""
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'  # SPEC 3.3
        mtime = st.st_mtime_ns // 1_000_000_000
        now = int(time.time())
        modified = min(mtime, now)  # SPEC 3.4: never later than now
        last_modified = _http_date(modified)
        content_type = guess_type(rest)
        tail = [("ETag", etag), ("Last-Modified", last_modified), _ACCEPT_RANGES, _NOSNIFF]
        if content_type == "image/svg+xml":
            tail.append(_SVG_CSP)
            if self.svg_as_attachment:
                tail.append(_SVG_ATTACHMENT)
        if self.cors:
            tail += _CORS
        head = (("Content-Type", content_type), ("Content-Length", str(st.st_size)))
        plain, versioned = self._cache_headers
        entry = _Entry(
            identity,
            etag,
            modified,
            last_modified,
            st.st_size,
            content_type,
            (head + _with(tail, plain), head + _with(tail, versioned)),
            (_with(tail, plain), _with(tail, versioned)),
        )
        if self.cache_size and mtime <= now:  # a future date is clamped anew each time
            entries = self._entries
            if len(entries) >= self.cache_size:
                # Forget the oldest; a race with another thread only forgets another.
                with contextlib.suppress(StopIteration, RuntimeError, KeyError):
                    del entries[next(iter(entries))]
            entries[rest] = entry
        return entry


def _with(headers: list[tuple[str, str]], extra: tuple[str, str] | None) -> _HeaderSet:
    return (*headers, extra) if extra is not None else tuple(headers)


def _if_range_holds(value: str, entry: _Entry) -> bool:
    """SPEC 9.7: a strong tag that matches, or the exact Last-Modified date."""
    if type(value) is not str:
        return False
    value = value.strip(" \t")
    if value.startswith('"'):
        return value == entry.etag
    if value == entry.last_modified:
        return True
    date = parse_http_date(value)
    return date is not None and date == entry.modified


CRLF: Final = "\r\n"


# --- per-file metadata, revalidated on every request -----------------------------------------

_HeaderSet = tuple[tuple[str, str], ...]


class _Entry(NamedTuple):
    """What the engine knows of a file it has opened and checked: computed once.

    ``headers`` is the 200's header set, ``tail`` the same without
    ``Content-Type`` and ``Content-Length`` (for a 206).  Each comes twice, with the
    ``Cache-Control`` of an unversioned and of a versioned URL (SPEC 3.8): index 0
    and 1.  (A 304's header set is the ``ETag`` and the engine's ``_not_modified``,
    the same for every file.)
    """

    identity: Identity
    etag: str
    modified: int
    last_modified: str
    size: int
    content_type: str
    headers: tuple[_HeaderSet, _HeaderSet]
    tail: tuple[_HeaderSet, _HeaderSet]


#: The precondition header fields of a request (RFC 9110 §13.1): If-Match,
#: If-Unmodified-Since, If-None-Match, If-Modified-Since.  A plain tuple: this is
#: built on every conditional request, and a NamedTuple costs a Python call.
_Conditions = tuple[str | None, str | None, str | None, str | None]


def _evaluate(conditions: _Conditions, entry: _Entry) -> int:
    """Return 412, 304 or 200: RFC 9110 §13.2.2, in its order (SPEC 4)."""
    if_match, if_unmodified_since, if_none_match, since = conditions
    etag = entry.etag
    if if_match is not None:
        if not matches_strong(if_match, etag):  # SPEC 4.1
            return 412
    elif if_unmodified_since is not None and if_unmodified_since != entry.last_modified:
        date = parse_http_date(if_unmodified_since)
        if date is not None and entry.modified > date:  # SPEC 4.2
            return 412
    if if_none_match is not None:
        return 304 if matches_weak(if_none_match, etag) else 200  # SPEC 4.3
    if since is not None:
        if since == entry.last_modified:  # what browsers send back: no parsing needed
            return 304
        date = parse_http_date(since)
        if date is not None and entry.modified <= date:  # SPEC 4.4
            return 304
    return 200
