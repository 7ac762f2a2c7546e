"""The current request's host URL, kept in a context variable.

``HttpExposedFileSystemStore`` builds absolute URLs from the host of the request
being handled.  1.1.0 kept the first request's ``Host`` header on the store for
ever, so one forged header chose the host of every image URL until a restart.
Here the host URL lives in a :class:`~contextvars.ContextVar` that an adapter
sets in a fresh context for each request: it is right under threads, asyncio
and gevent alike, and it is gone when the request is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final
from urllib.parse import quote

from ._errors import ConfigurationError

__all__ = [
    "HOST_URL",
    "RejectedHost",
    "TrustedHosts",
    "build_host_url",
    "current_host_url",
    "environ_host_url",
    "host_url_context",
    "normalize_trusted_hosts",
]


class RejectedHost(str):
    """The value of a ``Host`` header that was not trusted (kept to explain the error)."""

    __slots__ = ()


#: The host URL of the request being handled, such as ``'https://example.com/app/'``;
#: a :class:`RejectedHost` when the request's host was not trusted; ``None`` outside
#: any request.
HOST_URL: Final[ContextVar[str | None]] = ContextVar("imageattach.host_url", default=None)

TrustedHosts = tuple[str, ...]

# RFC 3986 host, narrowed to what may safely appear in a URL we build: a DNS name
# (letters, digits, "-", "_", "."), an IPv4 address, or a bracketed IPv6 literal,
# then an optional port.
_HOST: Final = re.compile(
    r"(?P<name>[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?\.?|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
_TRUSTED_ENTRY: Final = re.compile(
    r"\.?[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\]"
)
_SCHEMES: Final = frozenset({"http", "https"})


def normalize_trusted_hosts(trusted_hosts: Iterable[str] | None) -> TrustedHosts | None:
    """Check and lower-case a ``trusted_hosts`` setting, failing loudly at startup.

    An entry is a host name (``'example.com'``) matched exactly, or one starting
    with a dot (``'.example.com'``) that also matches every subdomain.  Ports are
    not part of an entry.
    """
    if trusted_hosts is None:
        return None
    if isinstance(trusted_hosts, str):
        raise ConfigurationError(
            f"trusted_hosts must be a list of host names, got the str {trusted_hosts!r}"
        )
    hosts = []
    for entry in trusted_hosts:
        if not isinstance(entry, str) or not _TRUSTED_ENTRY.fullmatch(entry):
            raise ConfigurationError(
                f"trusted_hosts entries must be host names such as 'example.com' or "
                f"'.example.com', got {entry!r}"
            )
        hosts.append(entry.lower())
    return tuple(hosts)


def _is_trusted(hostname: str, trusted_hosts: TrustedHosts) -> bool:
    hostname = hostname.lower().rstrip(".")
    for entry in trusted_hosts:
        if entry.startswith("."):
            if hostname == entry[1:] or hostname.endswith(entry):
                return True
        elif hostname == entry:
            return True
    return False


def build_host_url(
    scheme: str,
    host: str | None,
    script_name: str = "",
    trusted_hosts: TrustedHosts | None = None,
) -> str | None:
    """Build ``scheme://host/script_name/`` from a request, or ``None`` if it is unsafe.

    ``None`` comes back for a scheme other than http/https, a missing or
    malformed host (anything but a host name or IP literal and a port), or a
    host outside ``trusted_hosts`` when that is given.
    """
    if scheme not in _SCHEMES or not host:
        return None
    match = _HOST.fullmatch(host)
    if match is None:
        return None
    if trusted_hosts is not None and not _is_trusted(match["name"], trusted_hosts):
        return RejectedHost(host)
    port = match["port"]
    if port is not None and int(port) > 65535:
        return None
    root = quote(script_name.rstrip("/"), safe="/:@!$&'()*+,;=-._~") if script_name else ""
    return f"{scheme}://{host.lower()}{root}/"


def environ_host_url(
    environ: Mapping[str, object], trusted_hosts: TrustedHosts | None = None
) -> str | None:
    """:func:`build_host_url` from a WSGI (PEP 3333) environ.

    The host is ``HTTP_HOST``, else ``SERVER_NAME`` with ``SERVER_PORT`` unless it
    is the scheme's default; the script name is ``SCRIPT_NAME`` read as UTF-8
    (PEP 3333 hands it over as latin-1), or nothing when it is not UTF-8.
    """
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        name, port = environ.get("SERVER_NAME"), environ.get("SERVER_PORT")
        if name:
            default = "443" if scheme == "https" else "80"
            host = name if not port or port == default else f"{name}:{port}"
    script_name = environ.get("SCRIPT_NAME", "")
    if not isinstance(script_name, str):
        script_name = ""
    elif not script_name.isascii():
        try:
            script_name = script_name.encode("latin-1").decode("utf-8")
        except UnicodeError:
            script_name = ""
    if not isinstance(scheme, str) or not (host is None or isinstance(host, str)):
        return None
    return build_host_url(scheme, host, script_name, trusted_hosts)


def current_host_url() -> str | None:
    """The host URL of the request being handled, or ``None`` outside a request."""
    url = HOST_URL.get()
    return None if isinstance(url, RejectedHost) else url


@contextmanager
def host_url_context(host_url: str | None) -> Iterator[None]:
    """Use ``host_url`` for URLs built inside the ``with`` block.

    For code that runs outside a request but knows its public address (a
    background job, a test)::

        with host_url_context("https://example.com/"):
            url = store.locate(image)
    """
    token = HOST_URL.set(host_url)
    try:
        yield
    finally:
        HOST_URL.reset(token)
