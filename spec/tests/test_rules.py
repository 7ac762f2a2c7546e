"""The suites against SPEC.md: every test names a rule, every rule has tests."""

from __future__ import annotations

import re
from pathlib import Path

from imageattach.spec import RULES, SPEC_VERSION, HostURLSuite, ServingSuite, StoreSuite
from imageattach.spec._suite import rules_of

SPEC_MD = Path(__file__).resolve().parents[1] / "SPEC.md"
SUITES = (ServingSuite, HostURLSuite, StoreSuite)


def _tests() -> dict[str, tuple[str, ...]]:
    return {
        f"{suite.__name__}.{name}": rules_of(value)
        for suite in SUITES
        for name, value in vars(suite).items()
        if name.startswith("test")
    }


def test_rules_are_those_of_spec_md() -> None:
    text = SPEC_MD.read_text(encoding="utf-8")
    numbered = set(re.findall(r"^\*\*(\d+\.\d+)\*\*", text, re.MULTILINE))
    assert numbered == {rule for rule in RULES if "." in rule}
    assert f"Version of this document: {SPEC_VERSION} " in text


def test_every_test_names_a_known_rule() -> None:
    tests = _tests()
    assert len(tests) > 60
    unnamed = [name for name, rules in tests.items() if not rules]
    assert not unnamed
    unknown = {name: rules for name, rules in tests.items() if set(rules) - set(RULES)}
    assert not unknown


def test_every_rule_has_a_test() -> None:
    covered = {rule for rules in _tests().values() for rule in rules}
    assert set(RULES) - covered == set()
