"""The pytest plugin of imageattach-spec (entry point ``pytest11: imageattach``).

It registers the ``spec_rule`` marker, names the SPEC version in the report
header, and labels each failure of a suite test with its rule: ``SPEC 2.3: ...``
beside the failure, in the short summary, in ``user_properties`` (JUnit XML), and
in a closing list of the rules that failed.

With ``--imageattach-adapter=MODULE:FACTORY`` it also collects the whole
``ServingSuite`` against that factory, with no test module (see ``_cli``).
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

# First of all: this plugin lives in a PEP 420 namespace package, which pytest does
# not mark for assertion rewriting when installed from a wheel.
pytest.register_assert_rewrite("imageattach.spec")

from ._cli import adapter_plugin, add_options  # noqa: E402
from ._rules import SPEC_VERSION, rule_title  # noqa: E402

__all__ = [
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_report_header",
    "pytest_runtest_makereport",
]

_PROPERTY = "spec_rule"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    # First: a bad --imageattach-* value stops the run before anything else.
    suite = adapter_plugin(config)
    if suite is not None:
        config.pluginmanager.register(suite, "imageattach-spec-adapter")
    config.addinivalue_line(
        "markers",
        "spec_rule(rule_id, ...): the rule(s) of imageattach's SPEC.md a test checks, "
        'e.g. spec_rule("2.3")',
    )
    config.pluginmanager.register(_RuleTally(), "imageattach-spec-tally")


def pytest_report_header(config: pytest.Config) -> str:
    return f"imageattach-spec: SPEC.md version {SPEC_VERSION}"


def _item_rules(item: pytest.Item) -> tuple[str, ...]:
    return tuple(str(rule) for mark in item.iter_markers("spec_rule") for rule in mark.args)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        rules = _item_rules(item)
        if rules:
            item.user_properties.append((_PROPERTY, " ".join(rules)))


def _label(rules: tuple[str, ...]) -> str:
    titles = [
        f"SPEC {rule}: {rule_title(rule)}" if rule_title(rule) else f"SPEC {rule}"
        for rule in rules
    ]
    return "; ".join(titles)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    rules = _item_rules(item)
    if rules and report.failed:
        label = _label(rules)
        report.sections.append(("imageattach spec", label))
        crash = getattr(report.longrepr, "reprcrash", None)
        if crash is not None and isinstance(getattr(crash, "message", None), str):
            crash.message = f"[SPEC {', '.join(rules)}] {crash.message}"
    return report


class _RuleTally:
    """Collects the rules whose tests failed, and names them at the end."""

    def __init__(self) -> None:
        self.failed: dict[str, int] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.failed:
            return
        for key, value in report.user_properties:
            if key == _PROPERTY:
                for rule in str(value).split():
                    self.failed[rule] = self.failed.get(rule, 0) + 1

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.failed:
            return
        terminalreporter.section("imageattach spec", sep="=", red=True)
        rules = sorted(
            self.failed, key=lambda r: tuple(int(p) for p in r.split(".") if p.isdigit())
        )
        terminalreporter.write_line("SPEC rules failed: " + ", ".join(rules))
        for rule in rules:
            title = rule_title(rule)
            terminalreporter.write_line(f"  SPEC {rule} ({self.failed[rule]} failed): {title}")
