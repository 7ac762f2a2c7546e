"""The Falcon example adapter (``tests/falcon_example``), checked the way a user checks theirs.

imageattach ships no Falcon adapter; the example shows how little one takes.  Each
run copies the example into a fresh project directory, outside this repository
and its pytest configuration, and runs ``pytest --imageattach-adapter=...`` there
in a process of its own, with nothing but the installed plugin.  The adapter
passes every rule; each broken variant fails exactly the rules it breaks; and one
test serves the example from a real server on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).with_name("falcon_example")
ARGS = ("-p", "no:randomly", "-p", "no:cacheprovider", "--strict-markers", "-W", "error")
RULES_LINE = re.compile(r"^SPEC rules failed: (.*)$")
FAILED_LINE = re.compile(r"^FAILED \S+::ServingSuite::(test_\w+)")
#: Falcon's static route takes none of the suite's options.
NO_OPTIONS = (
    "--imageattach-no-cors",
    "--imageattach-no-block-size",
    "--imageattach-supported-options=",
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: the example package, and no test module at all."""
    shutil.copytree(
        EXAMPLE, pytester.path / EXAMPLE.name, ignore=shutil.ignore_patterns("__pycache__")
    )
    return pytester


def run_suite(project: pytest.Pytester, factory: str, *args: str) -> pytest.RunResult:
    # The subprocess has the project directory on its path, as `python -m pytest` would.
    return project.runpytest_subprocess(
        *ARGS, "--tb=no", "-rfs", f"--imageattach-adapter=falcon_example.{factory}", *args
    )


def failed_rules(result: pytest.RunResult) -> list[str]:
    """The rules of the plugin's closing summary, in its order."""
    lines = [m.group(1) for line in result.outlines if (m := RULES_LINE.match(line))]
    assert len(lines) <= 1, lines
    return lines[0].split(", ") if lines else []


def failed_tests(result: pytest.RunResult) -> set[str]:
    return {m.group(1) for line in result.outlines if (m := FAILED_LINE.match(line))}


def test_falcon_adapter_passes_the_suite(project: pytest.Pytester) -> None:
    result = run_suite(project, "adapter:factory")
    outcomes = result.parseoutcomes()
    assert set(outcomes) <= {"passed", "skipped"}, outcomes
    assert outcomes["passed"] > 2000, outcomes
    # Every capability is supported: nothing skips for want of CORS, block_size or
    # an option, only for the platform (e.g. running as root).
    skipped = [line for line in result.outlines if line.startswith("SKIPPED")]
    assert not [line for line in skipped if "ServingSuite." in line], skipped
    assert failed_rules(result) == []
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize(
    ("factory", "rules", "tests"),
    [
        # resp.set_stream(file): Falcon reads in 8 KiB blocks whatever block_size says.
        ("broken:file_stream", ["6.1"], {"test_body_in_blocks"}),
        # req.headers has upper-case names: no precondition, Range or preflight is seen.
        (
            "broken:falcon_headers",
            [
                *("2.3", "2.7", "3.11", "4", "4.1", "4.2", "4.3", "4.4", "4.6", "5.3"),
                *("9.1", "9.2", "9.3", "9.4", "9.5", "9.6", "9.7", "9.8"),
                *("10.1", "10.2", "10.3"),
            ],
            {
                "test_if_match",
                "test_if_none_match",
                "test_if_modified_since",
                "test_if_unmodified_since",
                "test_precondition_order",
                "test_preflight",
                "test_one_range",
                "test_multipart_byteranges",
                "test_unsatisfiable_range_is_416",
                "test_if_range",
                "test_file_replaced_after_served",
            },
        ),
    ],
)
def test_broken_falcon_adapter_fails_its_rules(
    project: pytest.Pytester, factory: str, rules: list[str], tests: set[str]
) -> None:
    result = run_suite(project, factory)
    assert failed_rules(result) == rules
    failed = failed_tests(result)
    assert tests <= failed, tests - failed
    if len(rules) == 1:
        assert failed == tests
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_falcon_static_route_serves_through_links(project: pytest.Pytester) -> None:
    """Why the example uses the engine and not Falcon's own ``add_static_route``.

    Falcon's static route checks the joined path by string and then ``open()``s
    it, so a symbolic link to a file outside the directory is served (SPEC 2.3),
    and it sends no ``nosniff`` (SPEC 3.5); it fails many other rules too, which
    this test does not pin to one Falcon release.
    """
    result = run_suite(project, "broken:falcon_static_route", *NO_OPTIONS)
    rules = failed_rules(result)
    assert {"2.3", "3.5"} <= set(rules), rules
    assert "test_link_out_of_root_is_404" in failed_tests(result)


# -- a real server ------------------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Application:
    """The rest of the site: answers ``<method> <path> <body>``, and keeps each environ."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.requests.append(environ)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        received = environ["wsgi.input"].read(length)  # a socket: read no more than sent
        body = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} ".encode() + received
        start_response("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", "a=1")])
        return [body]


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[http.client.HTTPConnection, Path, Application]]:
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    from falcon_example.adapter import factory

    root = tmp_path / "images"
    root.mkdir()
    (tmp_path / "secret.txt").write_bytes(b"never served")
    (root / "out.png").symlink_to(tmp_path / "secret.txt")
    fallback = Application()
    app = factory(fallback, "/__images__", str(root), block_size=4096)
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    try:
        yield connection, root, fallback
    finally:
        connection.close()
        server.shutdown()
        server.server_close()
        thread.join()


def test_falcon_adapter_on_a_real_server(
    served: tuple[http.client.HTTPConnection, Path, Application],
) -> None:
    connection, root, fallback = served
    data = bytes(range(256)) * 400
    (root / "photo.jpe").write_bytes(data)

    def fetch(
        method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection.request(method, target, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()

    status, headers, body = fetch("GET", "/__images__/photo.jpe")
    assert (status, body) == (200, data)
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Content-Length"] == str(len(data))
    assert headers["X-Content-Type-Options"] == "nosniff"

    status, not_modified, body = fetch(
        "GET", "/__images__/photo.jpe", {"If-None-Match": headers["ETag"]}
    )
    assert (status, body, not_modified["ETag"]) == (304, b"", headers["ETag"])

    status, partial, body = fetch("GET", "/__images__/photo.jpe", {"Range": "bytes=1000-1999"})
    assert (status, body) == (206, data[1000:2000])
    assert partial["Content-Range"] == f"bytes 1000-1999/{len(data)}"

    status, head, body = fetch("HEAD", "/__images__/photo.jpe")
    assert (status, body, head["Content-Length"]) == (200, b"", str(len(data)))

    assert fetch("GET", "/__images__/out.png")[0] == 404
    assert fetch("DELETE", "/__images__/photo.jpe")[0] == 405

    status, other, body = fetch("POST", "/upload?x=1", body=b"form=1")
    assert (status, body) == (200, b"POST /upload form=1")
    assert other["Set-Cookie"] == "a=1"
    assert fallback.requests[-1]["QUERY_STRING"] == "x=1"
