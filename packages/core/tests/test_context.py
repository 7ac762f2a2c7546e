from __future__ import annotations

import asyncio
import threading

import pytest

from imageattach.core import (
    ConfigurationError,
    build_host_url,
    current_host_url,
    environ_host_url,
    host_url_context,
)
from imageattach.core._context import RejectedHost, normalize_trusted_hosts


@pytest.mark.parametrize(
    ("scheme", "host", "script_name", "expected"),
    [
        ("http", "example.com", "", "http://example.com/"),
        ("https", "Example.COM:8443", "", "https://example.com:8443/"),
        ("http", "127.0.0.1:8000", "/app", "http://127.0.0.1:8000/app/"),
        ("http", "[::1]:8000", "/app/", "http://[::1]:8000/app/"),
        ("http", "example.com", "/my app", "http://example.com/my%20app/"),
        ("http", "example.com.", "", "http://example.com./"),
        ("ftp", "example.com", "", None),
        ("javascript", "example.com", "", None),
        ("http", "", "", None),
        ("http", None, "", None),
        ("http", "evil.com/path", "", None),
        ("http", "evil.com?x", "", None),
        ("http", "evil.com#x", "", None),
        ("http", "user@evil.com", "", None),
        ("http", "evil.com\r\nX: y", "", None),
        ("http", "evil.com:99999", "", None),
        ("http", "evil.com:80:80", "", None),
        ("http", "<script>", "", None),
        ("http", "a" * 300 + ".com", "", "http://" + "a" * 300 + ".com/"),
    ],
)
def test_build_host_url(
    scheme: str, host: str | None, script_name: str, expected: str | None
) -> None:
    assert build_host_url(scheme, host, script_name) == expected


@pytest.mark.parametrize(
    ("host", "trusted"),
    [
        ("example.com", True),
        ("EXAMPLE.com:8000", True),
        ("www.example.org", True),
        ("example.org", True),
        ("deep.sub.example.org", True),
        ("evilexample.org", False),
        ("example.com.evil.net", False),
        ("evil.net", False),
    ],
)
def test_trusted_hosts(host: str, trusted: bool) -> None:
    hosts = normalize_trusted_hosts(["example.com", ".Example.org"])
    url = build_host_url("https", host, "", hosts)
    if trusted:
        assert url == f"https://{host.lower()}/"
        assert type(url) is str
    else:
        assert isinstance(url, RejectedHost)


@pytest.mark.parametrize("bad", ["example.com", ["example.com:80"], ["http://x"], [""], [None]])
def test_bad_trusted_hosts_fail_at_startup(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="trusted_hosts"):
        normalize_trusted_hosts(bad)  # type: ignore[arg-type]


def test_context_is_scoped() -> None:
    assert current_host_url() is None
    with host_url_context("https://a.example/"):
        assert current_host_url() == "https://a.example/"
        with host_url_context(RejectedHost("evil")):
            assert current_host_url() is None
        assert current_host_url() == "https://a.example/"
    assert current_host_url() is None


def test_threads_and_tasks_see_their_own() -> None:
    seen: dict[str, str | None] = {}
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        with host_url_context(f"http://{name}/"):
            barrier.wait()
            seen[name] = current_host_url()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": "http://a/", "b": "http://b/"}

    async def task(name: str) -> str | None:
        with host_url_context(f"http://{name}/"):
            await asyncio.sleep(0)
            return current_host_url()

    async def main() -> list[str | None]:
        return list(await asyncio.gather(task("x"), task("y")))

    assert asyncio.run(main()) == ["http://x/", "http://y/"]


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({"HTTP_HOST": "shop.example"}, "http://shop.example/"),
        (
            {"HTTP_HOST": "shop.example:8080", "wsgi.url_scheme": "https"},
            "https://shop.example:8080/",
        ),
        ({"SERVER_NAME": "shop.example", "SERVER_PORT": "80"}, "http://shop.example/"),
        ({"SERVER_NAME": "shop.example", "SERVER_PORT": "8000"}, "http://shop.example:8000/"),
        (
            {"SERVER_NAME": "shop.example", "SERVER_PORT": "443", "wsgi.url_scheme": "https"},
            "https://shop.example/",
        ),
        ({"HTTP_HOST": "shop.example", "SCRIPT_NAME": "/app"}, "http://shop.example/app/"),
        # PEP 3333: SCRIPT_NAME's UTF-8 bytes arrive as latin-1 characters
        (
            {"HTTP_HOST": "a.example", "SCRIPT_NAME": "/caf\u00c3\u00a9"},
            "http://a.example/caf%C3%A9/",
        ),
        ({"HTTP_HOST": "a.example", "SCRIPT_NAME": "/\u00ff"}, "http://a.example/"),  # not UTF-8
        ({"HTTP_HOST": "evil.example/x"}, None),
        ({}, None),
        ({"HTTP_HOST": "shop.example", "wsgi.url_scheme": "ftp"}, None),
    ],
)
def test_environ_host_url(environ: dict[str, str], url: str | None) -> None:
    assert environ_host_url(environ) == url


def test_environ_host_url_keeps_untrusted_hosts_out() -> None:
    trusted = normalize_trusted_hosts(["shop.example"])
    assert environ_host_url({"HTTP_HOST": "shop.example"}, trusted) == "http://shop.example/"
    assert current_host_url_of(environ_host_url({"HTTP_HOST": "evil.example"}, trusted)) is None


def current_host_url_of(value: str | None) -> str | None:
    with host_url_context(value):
        return current_host_url()
