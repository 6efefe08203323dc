"""Tests of __NAME__'s logic in plain Python, against a fake host: no WebAssembly,
no cohort, runs in a second. `python3 test_policy.py`"""

import sys
import types
import unittest
from dataclasses import dataclass, field


class Err(Exception):
    """What componentize-py's `Err` is to the host: a refusal with a message."""


@dataclass
class Participant:
    id: str
    waited_ms: int = 0
    server_rtt_ms: float = None
    attributes: list = field(default_factory=list)  # [(name, value)], as the host gives them
    previous_partners: list = field(default_factory=list)
    avoid: list = field(default_factory=list)


class FakeHost:
    """The waitroom of one decision (index 0 = waited longest) and the logged lines."""

    def __init__(self):
        self.waiting, self.lines = [], []

    def waiting_count(self):
        return len(self.waiting)

    def waiting_get(self, index):
        return self.waiting[index] if 0 <= index < len(self.waiting) else None

    def waiting_ids(self):
        return [p.id for p in self.waiting]

    def log(self, line):
        self.lines.append(line)


HOST = FakeHost()
for name, attrs in {
    "componentize_py_types": {"Err": Err},
    "wit_world": {"WitWorld": object},
    "wit_world.imports": {"host": HOST},
}.items():
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module

import app  # noqa: E402  (after the fakes)


def person(pid, waited_ms=0, **attributes):
    return Participant(pid, waited_ms, attributes=list(attributes.items()))


class PolicyTest(unittest.TestCase):
    def setUp(self):
        self.policy = app.WitWorld()
        HOST.waiting, HOST.lines = [], []

    def ask(self, arriving, waiting, config="{}", size=2):
        self.policy.configure(config)
        HOST.waiting = waiting
        return self.policy.find_match(arriving, size)

    def test_without_group_by_the_longest_waiting_come_first(self):
        group = self.ask(person("new"), [person("old", 9000), person("mid", 4000)])
        self.assertEqual(group, ["new", "old"])

    def test_group_by_pairs_equal_values_only(self):
        waiting = [person("a", 5000, team="red"), person("b", 3000, team="blue")]
        group = self.ask(person("new", team="blue"), waiting, '{"group_by": "team"}')
        self.assertEqual(group, ["new", "b"])
        self.assertIsNone(self.ask(person("n2", team="green"), waiting, '{"group_by": "team"}'))

    def test_after_max_wait_anyone_goes(self):
        waiting = [person("a", 70000, team="red")]
        group = self.ask(person("new", team="blue"), waiting, '{"group_by": "team", "max_wait_ms": 60000}')
        self.assertEqual(group, ["new", "a"])
        self.assertEqual(HOST.lines, ["grouped across team after waiting 60000 ms"])

    def test_a_failed_pair_is_not_grouped(self):
        old = person("old", 9000)
        old.avoid = ["new"]
        self.assertIsNone(self.ask(person("new"), [old]))

    def test_a_bad_config_is_refused_with_a_message(self):
        with self.assertRaises(Err):
            self.policy.configure('{"group_by": 3}')


if __name__ == "__main__":
    unittest.main()
