"""What every conformance suite shares: the guard against silently dropped tests.

A suite is a mixin class; a user subclasses it and overrides its abstract
fixtures.  A subclass may also override or remove a suite test, but only by
saying so: the test must be marked ``xfail`` with a reason, or be listed in
:attr:`Suite.expected_failures`.  Anything else raises :exc:`SuiteDefinitionError`
when the class is created, so a test module that quietly disables a rule fails
to collect instead of passing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import pytest

__all__ = ["Suite", "SuiteDefinitionError", "rules_of"]


class SuiteDefinitionError(TypeError):
    """A suite subclass drops or replaces a conformance test without marking it xfail."""


def _marks(obj: object) -> list[pytest.Mark]:
    marks = getattr(obj, "pytestmark", [])
    if not isinstance(marks, list):
        marks = [marks]
    return [getattr(mark, "mark", mark) for mark in marks]


def rules_of(obj: object) -> tuple[str, ...]:
    """Return the SPEC rule ids a test function is marked with."""
    return tuple(
        str(rule) for mark in _marks(obj) if mark.name == "spec_rule" for rule in mark.args
    )


def _xfail_reason(obj: object) -> str:
    for mark in _marks(obj):
        if mark.name == "xfail":
            reason = mark.kwargs.get("reason", "")
            if isinstance(reason, str) and reason.strip():
                return reason
    return ""


class Suite:
    """Base of the conformance suites.  Subclass a suite, not this class."""

    #: Suite tests this subclass is known to fail, by name, with the reason:
    #: ``expected_failures = {"test_svg_has_sandbox_csp": "CSP lands in 2.1"}``.
    #: Each becomes a strict xfail, so a fixed adapter is noticed.
    expected_failures: ClassVar[Mapping[str, str]] = {}

    #: True on the classes that define suite tests; never set it in a subclass.
    _spec_suite: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_spec_suite", False):
            return
        tests = _suite_tests(cls)
        failures = cls.__dict__.get("expected_failures", {})
        for name, reason in failures.items():
            if name not in tests:
                raise SuiteDefinitionError(
                    f"{cls.__qualname__}.expected_failures names {name!r}, "
                    f"which is not a test of {_suite_names(cls)}"
                )
            if not isinstance(reason, str) or not reason.strip():
                raise SuiteDefinitionError(
                    f"{cls.__qualname__}.expected_failures[{name!r}] must be a reason, "
                    f"got {reason!r}"
                )
            current = getattr(cls, name, None)
            if current is None:
                current = tests[name]
            setattr(cls, name, _xfail(current, reason))
        for name, original in tests.items():
            current = getattr(cls, name, None)
            if current is original or _xfail_reason(current) or _xfail_reason(cls):
                continue
            rules = ", ".join(rules_of(original)) or "?"
            what = "removes" if current is None else "overrides"
            raise SuiteDefinitionError(
                f"{cls.__qualname__}.{name} {what} the conformance test of SPEC {rules} "
                f"without marking it xfail with a reason; mark the override "
                f'@pytest.mark.xfail(reason="...") or list it in '
                f'expected_failures = {{"{name}": "why"}}'
            )


def _suite_tests(cls: type) -> dict[str, Callable[..., Any]]:
    """Return the suite's own tests, by name, as the suite classes define them."""
    suites = [k for k in reversed(cls.__mro__) if k.__dict__.get("_spec_suite", False)]
    return {
        name: value
        for klass in suites
        for name, value in klass.__dict__.items()
        if name.startswith("test") and callable(value)
    }


def _suite_names(cls: type) -> str:
    names = [k.__name__ for k in cls.__mro__ if k.__dict__.get("_spec_suite", False)]
    return " or ".join(names) or "any suite"


def _xfail(test: Callable[..., Any], reason: str) -> Callable[..., Any]:
    """Return a copy of ``test`` marked as a strict xfail, leaving ``test`` alone."""

    @functools.wraps(test)
    def expected_failure(*args: Any, **kwargs: Any) -> Any:
        return test(*args, **kwargs)

    # functools.wraps shared the mark list; give the copy its own.
    expected_failure.pytestmark = list(_marks(test))  # type: ignore[attr-defined]
    marked: Callable[..., Any] = pytest.mark.xfail(reason=reason, strict=True)(expected_failure)
    return marked
