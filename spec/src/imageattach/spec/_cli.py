"""Run the serving suite from the command line: ``pytest --imageattach-adapter=pkg.mod:factory``.

With the option, the plugin builds the test module a user would have written::

    class ServingSuite(imageattach.spec.ServingSuite):
        protocol = ...                # --imageattach-protocol
        supports_cors = ...           # --imageattach-no-cors
        supports_block_size = ...     # --imageattach-no-block-size
        supported_options = ...       # --imageattach-supported-options
        expected_failures = {...}     # --imageattach-expected-failure

        @pytest.fixture
        def make_server(self):
            return pkg.mod.factory

and adds it to the session's collection as one more module, named after the
option's value (``pkg.mod:factory::ServingSuite::test_etag_formula[wsgi-a.png]``),
so ``-k``, ``--deselect``, ``--lf``, ``-x`` and ``--collect-only`` treat it like any
other.  Every value is checked at startup: a bad one is a :exc:`pytest.UsageError`
that names the option and the value.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Generator
from types import ModuleType
from typing import Any, Final

import pytest

from ._serving import SERVER_OPTIONS, ServerFactory, ServingSuite
from ._suite import SuiteDefinitionError

__all__ = ["AdapterSuitePlugin", "adapter_plugin", "add_options"]

ADAPTER: Final = "--imageattach-adapter"
PROTOCOL: Final = "--imageattach-protocol"
SUPPORTED_OPTIONS: Final = "--imageattach-supported-options"
NO_CORS: Final = "--imageattach-no-cors"
NO_BLOCK_SIZE: Final = "--imageattach-no-block-size"
EXPECTED_FAILURE: Final = "--imageattach-expected-failure"

#: The name of the generated class, as it appears in test ids and skip reasons.
SUITE_NAME: Final = "ServingSuite"
#: The (synthetic) module the class lives in; it is never imported.
SUITE_MODULE: Final = "imageattach_adapter_suite"

_DOTTED: Final = re.compile(r"\A[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\Z")
_SUITE: Final = pytest.StashKey[ModuleType]()


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("imageattach", "imageattach conformance suite")
    group.addoption(
        ADAPTER,
        metavar="MODULE:FACTORY",
        dest="imageattach_adapter",
        default=None,
        help="run the full ServingSuite against FACTORY, imported from MODULE: "
        "factory(app, url_path, dir_path, *, cors=False, block_size=..., **options) "
        "wraps app and serves dir_path under url_path; no test module needed.",
    )
    group.addoption(
        PROTOCOL,
        choices=("wsgi", "asgi"),
        dest="imageattach_protocol",
        default=None,
        help="what the factory wraps and returns: WSGI (default) or ASGI 3 applications.",
    )
    group.addoption(
        SUPPORTED_OPTIONS,
        metavar="NAMES",
        dest="imageattach_supported_options",
        default=None,
        help="comma-separated keyword options the factory takes, of "
        f"{', '.join(sorted(SERVER_OPTIONS))} (default: all; empty: none); "
        "tests that need another skip, naming it.",
    )
    group.addoption(
        NO_CORS,
        action="store_true",
        dest="imageattach_no_cors",
        default=False,
        help="the factory has no working cors=True: the CORS tests skip.",
    )
    group.addoption(
        NO_BLOCK_SIZE,
        action="store_true",
        dest="imageattach_no_block_size",
        default=False,
        help="the factory takes no block_size: the block-size test skips.",
    )
    group.addoption(
        EXPECTED_FAILURE,
        metavar="TEST=REASON",
        action="append",
        dest="imageattach_expected_failures",
        default=[],
        help="a suite test known to fail, and why (repeatable); it runs as a strict xfail.",
    )


def adapter_plugin(config: pytest.Config) -> AdapterSuitePlugin | None:
    """Check the options and return the plugin that collects the suite, or ``None``.

    :raises pytest.UsageError: for a value that cannot be used, or an option of
        the suite given without ``--imageattach-adapter``.
    """
    value: str | None = config.getoption("imageattach_adapter")
    if value is None:
        given = [
            name
            for name, dest, unset in (
                (PROTOCOL, "imageattach_protocol", None),
                (SUPPORTED_OPTIONS, "imageattach_supported_options", None),
                (NO_CORS, "imageattach_no_cors", False),
                (NO_BLOCK_SIZE, "imageattach_no_block_size", False),
                (EXPECTED_FAILURE, "imageattach_expected_failures", []),
            )
            if config.getoption(dest) != unset
        ]
        if given:
            verb = "needs" if len(given) == 1 else "need"
            raise pytest.UsageError(f"{', '.join(given)} {verb} {ADAPTER}=MODULE:FACTORY")
        return None
    factory = _import_factory(value)
    suite = _suite_class(
        value,
        factory,
        protocol=config.getoption("imageattach_protocol") or "wsgi",
        supports_cors=not config.getoption("imageattach_no_cors"),
        supports_block_size=not config.getoption("imageattach_no_block_size"),
        supported_options=_supported_options(config.getoption("imageattach_supported_options")),
        expected_failures=_expected_failures(config.getoption("imageattach_expected_failures")),
    )
    module = ModuleType(SUITE_MODULE, f"The ServingSuite of {ADAPTER}={value}.")
    setattr(module, SUITE_NAME, suite)
    config.stash[_SUITE] = module
    return AdapterSuitePlugin(value)


def _import_factory(value: str) -> ServerFactory:
    module_name, colon, attribute = value.partition(":")
    if not colon or not _DOTTED.match(module_name) or not _DOTTED.match(attribute):
        raise pytest.UsageError(
            f"{ADAPTER} must be MODULE:FACTORY, such as myproject.images:make_server, "
            f"got {value!r}"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as error:
        hint = ""
        if isinstance(error, ModuleNotFoundError) and error.name == module_name.split(".")[0]:
            hint = (
                " (is its folder on sys.path? run `python -m pytest` from it, "
                "or set `pythonpath = .` in the pytest configuration)"
            )
        raise pytest.UsageError(
            f"{ADAPTER}={value}: cannot import module {module_name!r}: "
            f"{type(error).__name__}: {error}{hint}"
        ) from error
    missing = object()
    for name in attribute.split("."):
        obj = getattr(obj, name, missing)
        if obj is missing:
            raise pytest.UsageError(
                f"{ADAPTER}={value}: module {module_name!r} has no attribute {attribute!r}"
            )
    if not callable(obj):
        raise pytest.UsageError(
            f"{ADAPTER}={value}: {attribute!r} must be a callable factory, got {obj!r}"
        )
    factory: ServerFactory = obj
    return factory


def _supported_options(value: str | None) -> frozenset[str]:
    if value is None:
        return SERVER_OPTIONS
    names = frozenset(name.strip() for name in value.split(",") if name.strip())
    unknown = sorted(names - SERVER_OPTIONS)
    if unknown:
        raise pytest.UsageError(
            f"{SUPPORTED_OPTIONS}={value}: unknown option {', '.join(map(repr, unknown))}; "
            f"expected a comma-separated list of {', '.join(sorted(SERVER_OPTIONS))}"
        )
    return names


def _expected_failures(values: list[str]) -> dict[str, str]:
    failures: dict[str, str] = {}
    for value in values:
        name, equals, reason = (part.strip() for part in value.partition("="))
        if not equals or not name or not reason:
            raise pytest.UsageError(
                f"{EXPECTED_FAILURE} must be TEST=REASON, such as "
                f'"test_svg_has_sandbox_csp=CSP lands in 1.3", got {value!r}'
            )
        failures[name] = reason
    return failures


def _suite_class(
    value: str,
    factory: ServerFactory,
    *,
    protocol: str,
    supports_cors: bool,
    supports_block_size: bool,
    supported_options: frozenset[str],
    expected_failures: dict[str, str],
) -> type[ServingSuite]:
    """Return the subclass of :class:`ServingSuite` a user would have written."""

    def make_server(self: ServingSuite) -> ServerFactory:
        return factory

    namespace: dict[str, Any] = {
        "__module__": SUITE_MODULE,
        "__qualname__": SUITE_NAME,
        "__doc__": f"The serving suite against {ADAPTER}={value}.",
        # Collected whatever the project's python_classes says.
        "__test__": True,
        "protocol": protocol,
        "supports_cors": supports_cors,
        "supports_block_size": supports_block_size,
        "supported_options": supported_options,
        "expected_failures": expected_failures,
        "make_server": pytest.fixture(make_server),
    }
    try:
        return type(SUITE_NAME, (ServingSuite,), namespace)
    except SuiteDefinitionError as error:
        # Only expected_failures can be wrong here: a name that is no suite test.
        raise pytest.UsageError(f"{EXPECTED_FAILURE}: {error}") from None


class _SuiteModule(pytest.Module):
    """The generated module: its object is built, not imported from a file."""

    def _getobj(self) -> ModuleType:
        return self.config.stash[_SUITE]


class AdapterSuitePlugin:
    """Adds the generated module to what the session collects, after the rest."""

    def __init__(self, value: str) -> None:
        self.value = value

    # trylast: the innermost wrapper, so the module is in place before other
    # wrappers (--lf, --ff) reorder what the session collected.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        if isinstance(collector, pytest.Session) and report.passed:
            # A virtual path under the root: the node id is the option's value,
            # and --lf finds the module again by it.
            module = _SuiteModule.from_parent(
                collector, path=collector.config.rootpath / self.value
            )
            report.result = [*report.result, module]
        return report
