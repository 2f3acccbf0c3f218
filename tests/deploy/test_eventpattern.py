"""The EventBridge event-pattern matcher the rule tests rely on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.eventpattern import PatternError, matches, validate

EVENT: dict[str, Any] = {
    "id": "e-1",
    "source": "acs.ecs",
    "type": "ecs:Instance:StateChange",
    "subject": "acs:ecs:cn-hangzhou:1234567890123456:instance/i-bp1master000000001",
    "data": {
        "level": "WARN",
        "count": 3,
        "ratio": 0.5,
        "enabled": True,
        "nothing": None,
        "ip": "192.168.1.10",
        "tags": ["db", "master"],
        "content": {"state": "Stopped", "resourceId": "i-bp1master000000001"},
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({}, True),
        ({"source": ["acs.ecs"]}, True),
        ({"source": ["acs.oss"]}, False),
        ({"source": ["acs.oss", "acs.ecs"]}, True),  # OR within a leaf
        ({"source": ["acs.ecs"], "type": ["ecs:Instance:StateChange"]}, True),
        ({"source": ["acs.ecs"], "type": ["other"]}, False),  # AND across keys
        ({"missing": ["x"]}, False),
        ({"data": {"content": {"state": ["Stopped", "Stopping"]}}}, True),
        ({"data": {"content": {"state": ["Running"]}}}, False),
        ({"data": {"content": {"missing": ["Stopped"]}}}, False),
        ({"data": {"missing": {"state": ["Stopped"]}}}, False),
        ({"source": {"nested": ["acs.ecs"]}}, False),  # an object where the event has a string
        ({"data": {"count": [3]}}, True),
        ({"data": {"count": ["3"]}}, False),  # type-strict
        ({"data": {"enabled": [True]}}, True),
        ({"data": {"enabled": [1]}}, False),  # true is not 1
        ({"data": {"count": [True]}}, False),
        ({"data": {"nothing": [None]}}, True),
        ({"data": {"level": [None]}}, False),
        ({"data": {"tags": ["master"]}}, True),  # an array value: any element
        ({"data": {"tags": ["standby"]}}, False),
    ],
)
def test_exact_values(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


@pytest.mark.parametrize(
    ("condition", "field", "expected"),
    [
        ({"prefix": "acs."}, "source", True),
        ({"prefix": "ecs."}, "source", False),
        ({"prefix": ""}, "source", True),
        ({"suffix": "i-bp1master000000001"}, "subject", True),
        ({"suffix": "standby"}, "subject", False),
        ({"contains": "Instance:State"}, "type", True),
        ({"contains": "Failure"}, "type", False),
        ({"anything-but": "acs.oss"}, "source", True),
        ({"anything-but": "acs.ecs"}, "source", False),
        ({"anything-but": ["acs.oss", "acs.ecs"]}, "source", False),
        ({"anything-but": ["acs.oss", "acs.rds"]}, "source", True),
        ({"anything-but": {"prefix": "acs."}}, "source", False),
        ({"anything-but": {"prefix": "custom."}}, "source", True),
        ({"anything-but": {"suffix": ".ecs"}}, "source", False),
        ({"exists": True}, "source", True),
        ({"exists": False}, "source", False),
        ({"exists": True}, "absent", False),
        ({"exists": False}, "absent", True),
        ({"prefix": "acs."}, "absent", False),
        ({"anything-but": "x"}, "absent", False),  # anything-but still needs the key
    ],
)
def test_operators_on_top_level_keys(condition: dict[str, Any], field: str, expected: bool) -> None:
    assert matches({field: [condition]}, EVENT) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"numeric": [">", 0, "<=", 5]}, True),
        ({"numeric": [">", 3]}, False),
        ({"numeric": [">=", 3, "<", 4]}, True),
        ({"numeric": ["=", 3]}, True),
        ({"numeric": ["<", 3]}, False),
    ],
)
def test_numeric(condition: dict[str, Any], expected: bool) -> None:
    assert matches({"data": {"count": [condition]}}, EVENT) is expected
    assert matches({"data": {"enabled": [condition]}}, EVENT) is False  # booleans are not numbers
    assert matches({"data": {"level": [condition]}}, EVENT) is False


def test_cidr_and_operators_on_nested_keys() -> None:
    assert matches({"data": {"ip": [{"cidr": "192.168.1.0/24"}]}}, EVENT)
    assert not matches({"data": {"ip": [{"cidr": "10.0.0.0/8"}]}}, EVENT)
    assert not matches({"data": {"level": [{"cidr": "10.0.0.0/8"}]}}, EVENT)  # not an address
    assert matches({"data": {"content": {"state": [{"prefix": "Stop"}]}}}, EVENT)
    assert matches({"data": {"content": {"state": [{"anything-but": ["Canceled", "Avoided"]}]}}}, EVENT)
    assert not matches({"data": {"content": {"state": [{"anything-but": "Stopped"}]}}}, EVENT)


def test_mixed_conditions_in_one_leaf_are_ored() -> None:
    leaf = ["ecs:Instance:Other", {"prefix": "ecs:Instance:State"}]
    assert matches({"type": leaf}, EVENT)
    assert not matches({"type": ["x", {"prefix": "y"}, {"suffix": "z"}]}, EVENT)


def test_not_an_object_never_matches() -> None:
    assert not matches({"source": ["acs.ecs"]}, ["acs.ecs"])
    assert not matches({"source": ["acs.ecs"]}, "acs.ecs")


@pytest.mark.parametrize(
    "pattern",
    [
        [],
        {"source": "acs.ecs"},  # a leaf must be an array
        {"source": []},
        {"source": [{"prefx": "acs."}]},  # unknown operator
        {"source": [{"prefix": 1}]},
        {"source": [{"prefix": "a", "suffix": "b"}]},  # one operator per condition
        {"source": [{"anything-but": []}]},
        {"source": [{"anything-but": {"contains": "x"}}]},
        {"source": [{"anything-but": {"prefix": 1}}]},
        {"source": [{"anything-but": [{"prefix": "x"}]}]},
        {"count": [{"numeric": [">", "1"]}]},
        {"count": [{"numeric": [">", 1, "<"]}]},
        {"count": [{"numeric": ["!=", 1]}]},
        {"count": [{"numeric": [">", True]}]},
        {"ip": [{"cidr": "not-a-network"}]},
        {"ip": [{"exists": "yes"}]},
        {"data": {"content": {"state": "Stopped"}}},
        {"source": [["acs.ecs"]]},
    ],
)
def test_invalid_patterns_are_refused(pattern: Any) -> None:
    with pytest.raises(PatternError):
        validate(pattern)
    with pytest.raises(PatternError):
        matches(pattern, EVENT)
