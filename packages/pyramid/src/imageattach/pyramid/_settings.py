"""The ``imageattach.*`` settings: read and checked once, when the application starts.

A mistake fails the start with :exc:`imageattach.core.ConfigurationError`, whose
message names the setting and shows the value it got, never a request later.
Every value may be a string (from an ``.ini`` file) or the Python value itself
(from ``Configurator(settings=...)``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from pyramid.settings import aslist, falsey, truthy

from imageattach.core import (
    DEFAULT_CACHE_CONTROL,
    VERSIONED_CACHE_CONTROL,
    ConfigurationError,
    HttpExposedFileSystemStore,
    StaticFiles,
)

__all__ = ["SETTINGS", "Serving", "read_settings"]

_PREFIX: Final = "imageattach."

#: Every setting this package reads (less ``imageattach.``), with its default.
SETTINGS: Final[Mapping[str, object]] = {
    "path": None,
    "store": None,
    "prefix": "__images__",
    "cors": False,
    "trusted_hosts": None,
    "host_url": None,
    "cache_control": DEFAULT_CACHE_CONTROL,
    "versioned_cache_control": VERSIONED_CACHE_CONTROL,
    "follow_symlinks": True,
    "svg_as_attachment": False,
    "block_size": 8192,
}

#: The settings that build the store, so cannot be given with ``imageattach.store``.
_STORE_SETTINGS: Final = ("path", "prefix", "trusted_hosts", "host_url")

# A prefix is a URL path that needs no percent-encoding: locate() writes it into
# URLs as it is, and the engine compares it with the decoded request path.
_SEGMENT: Final = r"[A-Za-z0-9_~!$&'()*+,;=:@.\-]+"
_URL_PATH: Final = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")


@dataclass(frozen=True, slots=True)
class Serving:
    """What the settings make: the store, the engine that serves it, and the block size."""

    store: HttpExposedFileSystemStore
    files: StaticFiles
    block_size: int


class _FixedHostURL:
    """The ``host_url_getter`` of ``imageattach.host_url``: always the same URL."""

    __slots__ = ("host_url",)

    def __init__(self, host_url: str) -> None:
        self.host_url = host_url

    def __call__(self) -> str:
        return self.host_url

    def __repr__(self) -> str:
        return f"<imageattach.host_url {self.host_url!r}>"


def _unset(value: object) -> bool:
    """A setting that is absent, ``None``, or blank (``imageattach.cors =`` in an .ini)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _bool(name: str, value: object, default: bool) -> bool:
    if _unset(value):
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in truthy and text not in falsey:  # pyramid's asbool takes garbage as False
        raise ConfigurationError(
            f"{_PREFIX}{name} must be true or false (or yes/no, on/off, 1/0), got {value!r}"
        )
    return text in truthy


def _positive_int(name: str, value: object, default: int) -> int:
    if _unset(value):
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        number = int(value)
    if number is None or number < 1:
        raise ConfigurationError(f"{_PREFIX}{name} must be a positive integer, got {value!r}")
    return number


def _cache_control(name: str, value: object) -> str | None:
    """A ``Cache-Control`` value; blank or ``none`` sends none."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        raise ConfigurationError(
            f"{_PREFIX}{name} must be a Cache-Control value such as 'public, max-age=60', "
            f"or 'none', got {value!r}"
        )
    value = value.strip()
    return None if not value or value.lower() == "none" else value


def _prefix(value: object) -> str:
    if _unset(value):
        return "__images__"
    prefix = value.strip().strip("/") if isinstance(value, str) else ""
    if not _URL_PATH.fullmatch(prefix) or any(
        segment in {".", ".."} for segment in prefix.split("/")
    ):
        raise ConfigurationError(
            f"{_PREFIX}prefix must be a URL path such as '__images__' or 'static/images', "
            f"got {value!r}"
        )
    return prefix


def _host_url(value: object) -> _FixedHostURL | None:
    if _unset(value):
        return None
    if isinstance(value, str) and _is_host_url(value.strip()):
        return _FixedHostURL(value.strip())
    raise ConfigurationError(
        f"{_PREFIX}host_url must be an http or https URL such as 'https://example.com/', "
        f"got {value!r}"
    )


def _is_host_url(value: str) -> bool:
    """``scheme://host[:port][/path]``: no user, query or fragment, nothing to escape."""
    if not value.isascii() or not value.isprintable() or " " in value or "?" in value:
        return False
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError when out of range
    except ValueError:  # a bad port or IPv6 literal
        return False
    return (
        parts.scheme in {"http", "https"}
        and bool(parts.hostname)
        and "@" not in parts.netloc
        and "#" not in value
        and port != 0
    )


def _directory(value: object) -> str:
    if _unset(value) or not isinstance(value, str | os.PathLike):
        raise ConfigurationError(
            f"{_PREFIX}path must name the directory the images are kept in, got {value!r}"
        )
    path = os.fspath(value)
    if not isinstance(path, str):
        raise ConfigurationError(f"{_PREFIX}path must be a str path, got {value!r}")
    return path


def _store(value: object, resolve: Callable[[str], Any]) -> HttpExposedFileSystemStore:
    store = value
    if isinstance(value, str):
        try:
            store = resolve(value.strip())
        except (ImportError, AttributeError, ValueError) as error:
            raise ConfigurationError(
                f"{_PREFIX}store must be the dotted name of an HttpExposedFileSystemStore "
                f"such as 'myapp.images:store', got {value!r}"
            ) from error
    if not isinstance(store, HttpExposedFileSystemStore):
        raise ConfigurationError(
            f"{_PREFIX}store must be an imageattach.core.HttpExposedFileSystemStore "
            f"(or its dotted name), got {value!r}"
        )
    if not store.prefix:
        raise ConfigurationError(
            f"{_PREFIX}store must have a prefix, or it would answer every request of the "
            f"application, got {store!r}"
        )
    return store


def read_settings(settings: Mapping[str, Any], resolve: Callable[[str], Any]) -> Serving:
    """Check the ``imageattach.*`` settings and build the store and engine they describe.

    :param settings: the application's settings (``registry.settings``).
    :param resolve: turns a dotted name into the object it names
        (``config.maybe_dotted``), for ``imageattach.store``.
    :raises ConfigurationError: naming the first setting that is wrong.
    """
    ours = {
        key[len(_PREFIX) :]: value
        for key, value in settings.items()
        if isinstance(key, str) and key.startswith(_PREFIX)
    }
    unknown = sorted(set(ours) - set(SETTINGS))
    if unknown:
        known = ", ".join(_PREFIX + name for name in SETTINGS)
        raise ConfigurationError(
            f"{_PREFIX}{unknown[0]} is not a setting of imageattach.pyramid, "
            f"expected one of {known}"
        )

    if _unset(ours.get("store")):
        path = _directory(ours.get("path"))
        prefix = _prefix(ours.get("prefix"))
        raw_hosts = ours.get("trusted_hosts")
        hosts = None if _unset(raw_hosts) else aslist(raw_hosts)
        host_url_getter = _host_url(ours.get("host_url"))
        cors = _bool("cors", ours.get("cors"), False)
        try:
            store = HttpExposedFileSystemStore(
                path, prefix, host_url_getter, cors, trusted_hosts=hosts or None
            )
        except ConfigurationError as error:  # the only one the store checks
            raise ConfigurationError(
                f"{_PREFIX}trusted_hosts must list host names such as 'example.com' or "
                f"'.example.com', got {raw_hosts!r} ({error})"
            ) from error
    else:
        for name in _STORE_SETTINGS:
            if not _unset(ours.get(name)):
                raise ConfigurationError(
                    f"{_PREFIX}{name} cannot be set together with {_PREFIX}store, "
                    f"which has its own, got {ours[name]!r}"
                )
        store = _store(ours["store"], resolve)
        cors = _bool("cors", ours.get("cors"), store.cors)

    if os.path.exists(store.path) and not os.path.isdir(store.path):
        raise ConfigurationError(f"{_PREFIX}path must be a directory, got {store.path!r}")
    files = StaticFiles(
        store.path or ".",
        "/" + store.prefix,
        cors=cors,
        cache_control=_cache_control(
            "cache_control", ours.get("cache_control", DEFAULT_CACHE_CONTROL)
        ),
        versioned_cache_control=_cache_control(
            "versioned_cache_control",
            ours.get("versioned_cache_control", VERSIONED_CACHE_CONTROL),
        ),
        follow_symlinks=_bool("follow_symlinks", ours.get("follow_symlinks"), True),
        svg_as_attachment=_bool("svg_as_attachment", ours.get("svg_as_attachment"), False),
        header_keys="environ",
    )
    return Serving(store, files, _positive_int("block_size", ours.get("block_size"), 8192))
