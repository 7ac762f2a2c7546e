"""The plugin, run the way a user runs it: pytester writes a test module, pytest runs it.

Each broken adapter below spoils the real one in one way; the suite must fail the
tests of exactly the rules it breaks, and pass everything else.  Runs are in a
subprocess: a broken adapter that leaks files must not leak them into this one.
"""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ARGS = ("-p", "no:randomly", "-p", "no:cacheprovider", "--strict-markers", "-W", "error", "-rf")

ADAPTERS = '''
import os

import pytest

from imageattach.spec import ServingSuite
from imageattach.wsgi import StaticServerMiddleware


def filtered(app, drop):
    """Wrap a WSGI app so that the response headers named in ``drop`` vanish."""

    def wrapped(environ, start_response):
        def start(status, headers, exc_info=None):
            kept = [(k, v) for k, v in headers if k.lower() not in drop]
            return start_response(status, kept, exc_info)

        return app(environ, start)

    return wrapped


KEPT = []


class Broken(ServingSuite):
    """Each subclass overrides ``broken`` to spoil the real adapter one way."""

    def broken(self, app, real, url_path, dir_path):
        return real

    @pytest.fixture
    def make_server(self):
        def factory(app, url_path, dir_path, **kwargs):
            real = StaticServerMiddleware(app, url_path, dir_path, **kwargs)
            return self.broken(app, real, url_path, dir_path)

        return factory
'''

REAL = (
    ADAPTERS
    + """

class TestReal(Broken):
    pass
"""
)

BROKEN = {
    "NoETag": """
    def broken(self, app, real, url_path, dir_path):
        return filtered(real, {"etag"})
""",
    "PostIsGet": """
    def broken(self, app, real, url_path, dir_path):
        def wrapped(environ, start_response):
            under = environ["PATH_INFO"].startswith(url_path + "/")
            if under and environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
                environ = dict(environ, REQUEST_METHOD="GET")
            return real(environ, start_response)

        return wrapped
""",
    "ServesDotDot": """
    def broken(self, app, real, url_path, dir_path):
        def wrapped(environ, start_response):
            path = environ["PATH_INFO"]
            method = environ["REQUEST_METHOD"]
            if method in ("GET", "HEAD") and path.startswith(url_path + "/") and ".." in path:
                naive = os.path.join(dir_path, path[len(url_path) + 1 :])
                if os.path.isfile(naive):
                    with open(naive, "rb") as f:
                        body = f.read()
                    start_response("200 OK", [("Content-Length", str(len(body)))])
                    return [body] if method == "GET" else []
            return real(environ, start_response)

        return wrapped
""",
    "NoNosniff": """
    def broken(self, app, real, url_path, dir_path):
        return filtered(real, {"x-content-type-options"})
""",
    "IgnoresCors": """
    @pytest.fixture
    def make_server(self):
        def factory(app, url_path, dir_path, cors=False, **kwargs):
            return StaticServerMiddleware(app, url_path, dir_path, **kwargs)

        return factory
""",
    "IgnoresRange": """
    def broken(self, app, real, url_path, dir_path):
        def wrapped(environ, start_response):
            environ.pop("HTTP_RANGE", None)
            return real(environ, start_response)

        return wrapped
""",
    "RemembersMissing": """
    def broken(self, app, real, url_path, dir_path):
        missing = []  # grows with every path that had no file

        def wrapped(environ, start_response):
            def start(status, headers, exc_info=None):
                if status.startswith("404"):
                    missing.append(environ["PATH_INFO"])
                return start_response(status, headers, exc_info)

            return real(environ, start)

        return wrapped
""",
    "KeepsFileOpen": """
    def broken(self, app, real, url_path, dir_path):
        def wrapped(environ, start_response):
            iterable = real(environ, start_response)
            KEPT.append(iterable)  # never closed, and never collected

            def body():  # a plain loop: closing body() does not close iterable
                for block in iterable:
                    yield block

            return body()

        return wrapped
""",
}


def broken_module(name: str) -> str:
    body = textwrap.indent(textwrap.dedent(BROKEN[name]), "    ")
    return f"{ADAPTERS}\n\nclass Test{name}(Broken):\n{body}"


FAILED_LINE = re.compile(r"^FAILED \S+::Test\w+::(test_\w+)")


def failed_tests(result: pytest.RunResult) -> set[str]:
    """The names (without parameters) of the suite tests that failed."""
    return {m.group(1) for line in result.outlines if (m := FAILED_LINE.match(line))}


def test_real_adapter_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_adapter=REAL)
    result = pytester.runpytest_subprocess(*ARGS, "--tb=short")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 700
    assert set(outcomes) <= {"passed", "skipped"}, outcomes
    result.stdout.fnmatch_lines(["imageattach-spec: SPEC.md version 2"])
    result.stdout.no_fnmatch_line("*SPEC rules failed*")
    assert result.ret == pytest.ExitCode.OK


NO_ETAG_TESTS = {
    "test_etag_formula",
    "test_etag_follows_the_file",
    "test_304_headers",
    "test_range_has_the_headers_of_the_200",
    "test_multipart_has_the_headers_of_the_200",
    "test_file_served_once_it_appears",
    "test_file_replaced_after_served",
    "test_file_replaced_by_a_link",
}


@pytest.mark.parametrize(
    ("name", "failed", "rules", "tests"),
    [
        (
            "NoETag",
            70,
            "2.3, 3.3, 4.5, 9.5, 9.6, 10.1, 10.3",
            NO_ETAG_TESTS,
        ),
        (
            "PostIsGet",
            226,
            "1.2, 2.6, 5.3, 5.4, 9.1",
            {
                "test_other_method_is_405",
                "test_other_method_is_405_with_cors",
                "test_405_before_path_is_resolved",
                "test_405_before_preconditions",
                "test_error_is_no_store_whatever_the_policy",
                "test_preflight",
                "test_preflight_lists_are_fixed",
                "test_options_with_cors_on",
                "test_options_with_cors_off_is_405",
                "test_range_only_for_a_file",
            },
        ),
        (
            "ServesDotDot",
            32,
            "2.1, 2.6, 9.1",
            {
                "test_unsafe_path_is_404",
                "test_error_is_no_store_whatever_the_policy",
                "test_range_only_for_a_file",
            },
        ),
        (
            "NoNosniff",
            82,
            "3.5, 4.5, 9.5, 9.6",
            {
                "test_nosniff_on_every_response",
                "test_nosniff_with_cors_on",
                "test_304_headers",
                "test_range_has_the_headers_of_the_200",
                "test_multipart_has_the_headers_of_the_200",
            },
        ),
        (
            "IgnoresCors",
            174,
            "1.2, 4.5, 5.2, 5.3, 5.4, 9.5",
            {
                "test_other_method_is_405_with_cors",
                "test_304_carries_cors",
                "test_cors_on_allows_any_origin",
                "test_preflight",
                "test_preflight_lists_are_fixed",
                "test_options_with_cors_on",
                "test_range_has_cors_headers",
            },
        ),
        (
            "IgnoresRange",
            226,
            "3.11, 9.1, 9.2, 9.3, 9.4, 9.5, 9.6, 9.7, 9.8, 10.2, 10.3",
            {
                "test_416_body_is_fixed",
                "test_file_deleted_after_served",
                "test_file_replaced_after_served",
                "test_giant_range_in_time",
                "test_if_range",
                "test_if_range_date_of_a_changed_file",
                "test_multipart_boundary_is_random",
                "test_multipart_byteranges",
                "test_multipart_has_the_headers_of_the_200",
                "test_multipart_never_larger_than_the_file",
                "test_one_range",
                "test_preconditions_before_range",
                "test_range_edges",
                "test_range_grammar",
                "test_range_has_cors_headers",
                "test_range_has_the_headers_of_the_200",
                "test_range_numbers_of_many_digits",
                "test_range_reads_only_its_bytes",
                "test_ranges_coalesced_into_one",
                "test_sixteen_ranges_honoured_seventeen_ignored",
                "test_svg_as_attachment",
                "test_unsatisfiable_range_is_416",
            },
        ),
        ("RemembersMissing", 2, "10.4", {"test_missing_paths_leave_memory_flat"}),
    ],
)
def test_broken_adapter_fails_its_rule(
    pytester: pytest.Pytester, name: str, failed: int, rules: str, tests: set[str]
) -> None:
    pytester.makepyfile(test_adapter=broken_module(name))
    result = pytester.runpytest_subprocess(*ARGS, "--tb=no")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == failed, outcomes
    assert "errors" not in outcomes
    assert failed_tests(result) == tests
    result.stdout.fnmatch_lines([f"SPEC rules failed: {rules}"])


def test_leaked_file_fails_6_2(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_adapter=broken_module("KeepsFileOpen"))
    result = pytester.runpytest_subprocess(
        *ARGS, "--tb=no", "-k", "test_file_closed or test_no_file_left_open"
    )
    result.assert_outcomes(failed=12, passed=14, deselected=result.parseoutcomes()["deselected"])
    # A 206 leaves its file open too; a HEAD, 304, 404, 405, 412 or 416 has none to leave.
    assert failed_tests(result) == {
        "test_file_closed_after_body",
        "test_file_closed_when_response_closed_early",
        "test_no_file_left_open",
    }
    result.stdout.fnmatch_lines(["SPEC rules failed: 6.2"])


def test_failure_names_its_rule(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_adapter=broken_module("NoETag"))
    result = pytester.runpytest_subprocess(
        *ARGS, "-vv", "-k", "test_etag_formula and a.png", "--junitxml=report.xml"
    )
    result.assert_outcomes(failed=2, deselected=result.parseoutcomes()["deselected"])
    result.stdout.fnmatch_lines(
        [
            "*- imageattach spec -*",
            'SPEC 3.3: ETag is "<mtime_ns hex>-<size hex>"',
            "FAILED *test_etag_formula[[]wsgi-a.png[]] - [[]SPEC 3.3[]] *",
        ]
    )
    # Assertion rewriting reached the suite's own module: the values are shown.
    result.stdout.fnmatch_lines(["E * assert [[][]] == [[]'\"*-408\"'[]]"])
    tree = ET.parse(pytester.path / "report.xml")
    values = {p.get("value") for p in tree.iter("property") if p.get("name") == "spec_rule"}
    assert values == {"3.3"}


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mine="""
        import pytest

        @pytest.mark.spec_rule("2.3")
        def test_my_own_rule_check():
            pass
        """
    )
    result = pytester.runpytest_subprocess(*ARGS, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.spec_rule(rule_id, ...)*"])
    result = pytester.runpytest_subprocess(*ARGS)
    result.assert_outcomes(passed=1)


GUARDED = """
import pytest

from imageattach.spec import ServingSuite
from imageattach.wsgi import StaticServerMiddleware


class TestGuarded(ServingSuite):
    @pytest.fixture
    def make_server(self):
        return StaticServerMiddleware
"""


def test_override_without_xfail_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_guard=GUARDED
        + """
    def test_etag_formula(self):
        pass
"""
    )
    result = pytester.runpytest_subprocess(*ARGS)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*SuiteDefinitionError: TestGuarded.test_etag_formula overrides the conformance "
            "test of SPEC 3.3 without marking it xfail with a reason*"
        ]
    )


@pytest.mark.parametrize(
    "definition",
    [
        "    test_etag_formula = None\n",
        "    @pytest.mark.xfail\n    def test_etag_formula(self):\n        pass\n",
        '    @pytest.mark.xfail(reason="  ")\n    def test_etag_formula(self):\n        pass\n',
        '    expected_failures = {"test_etag_formula": ""}\n',
        '    expected_failures = {"test_no_such_rule": "typo"}\n',
    ],
    ids=["removed", "xfail-without-reason", "xfail-blank-reason", "blank-reason", "unknown"],
)
def test_dropped_test_fails(pytester: pytest.Pytester, definition: str) -> None:
    pytester.makepyfile(test_guard=GUARDED + definition)
    result = pytester.runpytest_subprocess(*ARGS)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*SuiteDefinitionError: TestGuarded*"])


def test_override_marked_xfail_is_allowed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_guard=GUARDED
        + """
    @pytest.mark.xfail(reason="our ETags are content hashes", strict=True)
    def test_etag_formula(self):
        pytest.fail("not this formula")
"""
    )
    result = pytester.runpytest_subprocess(*ARGS, "-k", "test_etag")
    result.assert_outcomes(xfailed=1, passed=2)


def test_expected_failures_are_strict_xfails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_guard=GUARDED
        + """
    expected_failures = {"test_svg_has_sandbox_csp": "CSP comes in the next release"}


class TestWithoutCsp(TestGuarded):
    @pytest.fixture
    def make_server(self):
        def factory(app, url_path, dir_path, **kwargs):
            real = StaticServerMiddleware(app, url_path, dir_path, **kwargs)

            def wrapped(environ, start_response):
                def start(status, headers, exc_info=None):
                    kept = [h for h in headers if h[0] != "Content-Security-Policy"]
                    return start_response(status, kept, exc_info)

                return real(environ, start)

            return wrapped

        return factory
"""
    )
    result = pytester.runpytest_subprocess(*ARGS, "-vv", "-k", "test_svg_has_sandbox_csp")
    # The real adapter passes: a strict xfail that passes fails, so it is noticed.
    result.assert_outcomes(failed=6, xfailed=6, deselected=result.parseoutcomes()["deselected"])
    result.stdout.fnmatch_lines(
        ["FAILED *TestGuarded::test_svg_has_sandbox_csp*XPASS(strict)*CSP comes in the next*"]
    )


def test_abstract_fixture_says_what_to_override(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_abstract="""
        from imageattach.spec import HostURLSuite, ServingSuite, StoreSuite

        class TestServing(ServingSuite):
            pass

        class TestStore(StoreSuite):
            pass

        class TestHostURL(HostURLSuite):
            pass
        """
    )
    result = pytester.runpytest_subprocess(
        *ARGS, "--tb=line", "-k", "test_etag_formula or test_put_replaces or test_getter_wins"
    )
    result.assert_outcomes(errors=13, deselected=result.parseoutcomes()["deselected"])
    result.stdout.fnmatch_lines(
        [
            "*TestServing must override the make_server fixture*",
            "*TestStore must override the store fixture*",
            "*TestHostURL must override the make_store_server fixture*",
        ],
        consecutive=False,
    )


HOST_AND_STORE = """
import os
import time

import pytest

from imageattach.core import FileSystemStore
from imageattach.spec import HostURLSuite, StoreSuite


class TestRemembersHosts(HostURLSuite):
    \"\"\"1.1.0's mistake: the host goes into the store, for every later request too.\"\"\"

    @pytest.fixture
    def make_store_server(self):
        def factory(store, app):
            def remember(environ, start_response):
                if store.host_url_getter is None:
                    url = f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}"
                    store.host_url_getter = lambda: url + environ["SCRIPT_NAME"]
                return app(environ, start_response)

            return store.wsgi_middleware(remember)

        return factory


class HalfWrittenStore(FileSystemStore):
    \"\"\"Writes in place, in slow pieces: a reader can see a part.\"\"\"

    def put_file(self, file, object_type, object_id, width, height, mimetype, reproducible):
        key = (object_type, object_id, width, height, mimetype)
        path = os.path.join(self.path, *self.get_path(*key))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            while block := file.read(64 * 1024):
                out.write(block)
                out.flush()
                time.sleep(0.001)


class TestHalfWrittenStore(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        return HalfWrittenStore(tmp_path, "https://images.example/")
"""


def test_broken_host_middleware_and_store_fail_their_rules(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_host_and_store=HOST_AND_STORE)
    result = pytester.runpytest_subprocess(*ARGS, "--tb=no")
    result.stdout.fnmatch_lines(["SPEC rules failed: 7.2, 7.4, 8.7"])
    assert failed_tests(result) == {
        "test_no_host_url_outside_a_request",
        "test_host_url_gone_after_a_failed_request",
        "test_interleaved_requests_keep_their_hosts",
        "test_untrusted_host_records_nothing",
        "test_replace_is_whole",
    }


# -- the command line: --imageattach-adapter=MODULE:FACTORY, and no test module -------------

FACTORIES = '''
from imageattach.wsgi import StaticServerMiddleware

NOT_CALLABLE = 42


def no_etag(app, url_path, dir_path, **kwargs):
    real = StaticServerMiddleware(app, url_path, dir_path, **kwargs)

    def wrapped(environ, start_response):
        def start(status, headers, exc_info=None):
            kept = [(k, v) for k, v in headers if k != "ETag"]
            return start_response(status, kept, exc_info)

        return real(environ, start)

    return wrapped


def limited(
    app,
    url_path,
    dir_path,
    *,
    cors=False,
    cache_control="public, max-age=60",
    versioned_cache_control="public, max-age=31536000, immutable",
):
    """No CORS, no block_size, no follow_symlinks, no svg_as_attachment."""
    if cors:
        raise TypeError("limited() has no CORS")
    return StaticServerMiddleware(
        app,
        url_path,
        dir_path,
        cache_control=cache_control,
        versioned_cache_control=versioned_cache_control,
    )
'''

CLI_REAL = "--imageattach-adapter=imageattach.wsgi:StaticServerMiddleware"
CLI_ID = re.compile(r"^(\S+?)::(\w+)::(test_\w+(?:\[.*\])?)$")


def collected(result: pytest.RunResult) -> dict[tuple[str, str], set[str]]:
    """The ids of ``--collect-only -q``, grouped by (module, class)."""
    tests: dict[tuple[str, str], set[str]] = {}
    for line in result.outlines:
        if m := CLI_ID.match(line):
            tests.setdefault((m.group(1), m.group(2)), set()).add(m.group(3))
    return tests


def test_adapter_option_collects_what_a_subclass_would(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_guard=GUARDED)
    result = pytester.runpytest_subprocess(*ARGS, "--collect-only", "-q", CLI_REAL)
    tests = collected(result)
    assert set(tests) == {
        ("test_guard.py", "TestGuarded"),
        ("imageattach.wsgi:StaticServerMiddleware", "ServingSuite"),
    }
    by_subclass = tests["test_guard.py", "TestGuarded"]
    assert len(by_subclass) > 2000
    assert tests["imageattach.wsgi:StaticServerMiddleware", "ServingSuite"] == by_subclass


def test_without_the_option_nothing_is_added(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    result = pytester.runpytest_subprocess(*ARGS, "--collect-only", "-q")
    assert [line for line in result.outlines if "::" in line] == ["test_mine.py::test_mine"]


def test_adapter_option_runs_the_suite(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*ARGS, "--tb=short", CLI_REAL)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 2000
    assert set(outcomes) <= {"passed", "skipped"}, outcomes
    result.stdout.fnmatch_lines(["imageattach-spec: SPEC.md version 2"])
    result.stdout.no_fnmatch_line("*SPEC rules failed*")
    assert result.ret == pytest.ExitCode.OK


def test_adapter_option_names_the_rules_broken(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(adapters=FACTORIES)
    result = pytester.runpytest_subprocess(
        *ARGS, "--tb=no", "--imageattach-adapter=adapters:no_etag"
    )
    outcomes = result.parseoutcomes()
    # The same failures as the subclass that drops ETag, named after the option.
    assert outcomes["failed"] == 70, outcomes
    assert "errors" not in outcomes
    assert failed_tests(result) == set()  # no Test* class: the ids are the option's
    names = {
        m.group(1)
        for line in result.outlines
        if (m := re.match(r"^FAILED adapters:no_etag::ServingSuite::(test_\w+)", line))
    }
    assert names == NO_ETAG_TESTS
    result.stdout.fnmatch_lines(["SPEC rules failed: 2.3, 3.3, 4.5, 9.5, 9.6, 10.1, 10.3"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_capabilities_skip_with_their_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(adapters=FACTORIES)
    result = pytester.runpytest_subprocess(
        *ARGS,
        "--tb=short",
        "-rs",
        "--imageattach-adapter=adapters:limited",
        "--imageattach-no-cors",
        "--imageattach-no-block-size",
        "--imageattach-supported-options=cache_control, versioned_cache_control",
    )
    outcomes = result.parseoutcomes()
    assert set(outcomes) == {"passed", "skipped"}, outcomes
    for reason in (
        "ServingSuite.supports_cors is False",
        "ServingSuite.supports_block_size is False",
        "ServingSuite.supported_options lacks follow_symlinks",
        "ServingSuite.supported_options lacks svg_as_attachment",
    ):
        result.stdout.fnmatch_lines([f"SKIPPED * {reason}"])
    # Without the options the same factory is asked for what it lacks, and fails.
    result = pytester.runpytest_subprocess(
        *ARGS, "--tb=line", "--imageattach-adapter=adapters:limited", "-k", "test_body_in_blocks"
    )
    result.stdout.fnmatch_lines(["*TypeError: limited() got an unexpected keyword*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_protocol_option_runs_the_suite_over_asgi(pytester: pytest.Pytester) -> None:
    # The reference ASGI server of test_conformance.py, as a user's module.
    source = (Path(__file__).parent / "test_conformance.py").read_text(encoding="utf-8")
    pytester.makepyfile(asgi_adapter=source)
    option = "--imageattach-adapter=asgi_adapter:ASGIStaticFiles"
    result = pytester.runpytest_subprocess(
        *ARGS, "--tb=short", option, "--imageattach-protocol=asgi"
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 1000
    assert set(outcomes) <= {"passed", "skipped"}, outcomes
    ids = pytester.runpytest_subprocess(
        *ARGS, "--collect-only", "-q", option, "--imageattach-protocol=asgi"
    )
    [tests] = collected(ids).values()
    assert all("[asgi" in test for test in tests if "[" in test)
    # Spoken to over WSGI (the default), the same ASGI application fails.
    result = pytester.runpytest_subprocess(*ARGS, "--tb=no", option, "-k", "test_one_range")
    assert result.parseoutcomes()["failed"] > 0


def test_expected_failure_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(adapters=FACTORIES)
    reason = "--imageattach-expected-failure=test_etag_formula=our ETags are content hashes"
    select = ("-k", "test_etag_formula")
    result = pytester.runpytest_subprocess(
        *ARGS, "-rx", "--imageattach-adapter=adapters:no_etag", reason, *select
    )
    outcomes = result.parseoutcomes()
    assert outcomes["xfailed"] == 10, outcomes
    assert "failed" not in outcomes
    result.stdout.fnmatch_lines(["XFAIL *test_etag_formula* - our ETags are content hashes"])
    # Strict: an adapter that passes the test is told so.
    result = pytester.runpytest_subprocess(*ARGS, "-rf", CLI_REAL, reason, *select)
    assert result.parseoutcomes()["failed"] == 10
    result.stdout.fnmatch_lines(["[[]XPASS(strict)[]] our ETags are content hashes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--imageattach-adapter=no_such_module:factory"],
            "--imageattach-adapter=no_such_module:factory: cannot import module "
            "'no_such_module': ModuleNotFoundError: *(is its folder on sys.path?*",
        ),
        (
            ["--imageattach-adapter=exploding:factory"],
            "--imageattach-adapter=exploding:factory: cannot import module 'exploding': "
            "RuntimeError: boom",
        ),
        (
            ["--imageattach-adapter=adapters:nope"],
            "--imageattach-adapter=adapters:nope: module 'adapters' has no attribute 'nope'",
        ),
        (
            ["--imageattach-adapter=adapters:NOT_CALLABLE"],
            "--imageattach-adapter=adapters:NOT_CALLABLE: 'NOT_CALLABLE' must be a callable "
            "factory, got 42",
        ),
        (
            ["--imageattach-adapter=adapters"],
            "--imageattach-adapter must be MODULE:FACTORY, * got 'adapters'",
        ),
        (
            ["--imageattach-adapter=adapters/no_etag.py"],
            "--imageattach-adapter must be MODULE:FACTORY, * got 'adapters/no_etag.py'",
        ),
        (
            ["--imageattach-adapter=adapters:no_etag", "--imageattach-supported-options=cors"],
            "--imageattach-supported-options=cors: unknown option 'cors'; expected *",
        ),
        (
            ["--imageattach-adapter=adapters:no_etag", "--imageattach-protocol=http"],
            "*argument --imageattach-protocol: invalid choice: 'http' (choose from *",
        ),
        (
            ["--imageattach-adapter=adapters:no_etag", "--imageattach-expected-failure=x"],
            "--imageattach-expected-failure must be TEST=REASON, * got 'x'",
        ),
        (
            [
                "--imageattach-adapter=adapters:no_etag",
                "--imageattach-expected-failure=test_no_such_rule=typo",
            ],
            "--imageattach-expected-failure: ServingSuite.expected_failures names "
            "'test_no_such_rule', which is not a test of ServingSuite",
        ),
        (
            ["--imageattach-protocol=asgi", "--imageattach-no-cors"],
            "--imageattach-protocol, --imageattach-no-cors need "
            "--imageattach-adapter=MODULE:FACTORY",
        ),
        (
            ["--imageattach-expected-failure=test_etag_formula=why"],
            "--imageattach-expected-failure needs --imageattach-adapter=MODULE:FACTORY",
        ),
    ],
    ids=[
        "no-module",
        "module-raises",
        "no-attribute",
        "not-callable",
        "no-colon",
        "a-path",
        "unknown-option",
        "unknown-protocol",
        "failure-without-reason",
        "failure-of-no-test",
        "without-adapter",
        "failure-without-adapter",
    ],
)
def test_bad_option_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile(
        adapters=FACTORIES,
        exploding='raise RuntimeError("boom")\n',
        test_mine="def test_mine():\n    pass\n",
    )
    result = pytester.runpytest_subprocess(*ARGS, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    result.stdout.no_fnmatch_line("*passed*")
