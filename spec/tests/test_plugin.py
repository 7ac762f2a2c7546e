"""The plugin, run the way a user runs it: pytester writes a test module, pytest runs it.

Each broken adapter below spoils the real one in one way; the suite must fail the
tests of exactly the rules it breaks, and pass everything else.  Runs are in a
subprocess: a broken adapter that leaks files must not leak them into this one.
"""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET

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


@pytest.mark.parametrize(
    ("name", "failed", "rules", "tests"),
    [
        (
            "NoETag",
            70,
            "2.3, 3.3, 4.5, 9.5, 9.6, 10.1, 10.3",
            {
                "test_etag_formula",
                "test_etag_follows_the_file",
                "test_304_headers",
                "test_range_has_the_headers_of_the_200",
                "test_multipart_has_the_headers_of_the_200",
                "test_file_served_once_it_appears",
                "test_file_replaced_after_served",
                "test_file_replaced_by_a_link",
            },
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
