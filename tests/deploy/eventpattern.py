"""EventBridge event patterns (Alibaba Cloud EventBridge, "Event patterns"), for testing rules.

Semantics implemented:

- A pattern is a JSON object. Every key must be in the event (AND across keys); an object
  value nests: the event's value must be an object matched by it (e.g. `data.content.state`).
- A leaf is a non-empty array of conditions, OR'ed. When the event's value is an array, the
  leaf matches if any element matches any condition.
- Conditions: a JSON scalar (exact, type-strict: "1" is not 1, true is not 1; null matches
  null), or an object with one operator: `prefix`, `suffix`, `contains` (strings only),
  `anything-but` (a scalar, an array of scalars, or {"prefix"|"suffix": string}),
  `numeric` ([op, number, op, number...] with ops < <= = > >=; numbers only, not booleans),
  `cidr` (an IP address value inside a network) and `exists` (true: the key is present;
  false: it is absent, the only condition that matches a missing key).

An invalid pattern (not an object, an empty or non-array leaf, an unknown operator, a wrong
operand type) raises PatternError, as EventBridge refuses to create such a rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

STRING_OPERATORS = ("prefix", "suffix", "contains")
NUMERIC_OPERATORS = ("<", "<=", "=", ">", ">=")
_MISSING = object()


class PatternError(ValueError):
    """The pattern is not one EventBridge would accept."""


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, int, float))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: types first (so True != 1 and 1 != "1"), then value."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and a == b


def validate(pattern: Any) -> None:
    """Raise PatternError unless `pattern` is a well-formed event pattern."""
    if not isinstance(pattern, Mapping):
        raise PatternError(f"a pattern is a JSON object, not {type(pattern).__name__}")
    for key, value in pattern.items():
        if isinstance(value, Mapping):
            validate(value)
        elif isinstance(value, list):
            if not value:
                raise PatternError(f"{key!r}: an empty array matches nothing")
            for condition in value:
                _validate_condition(key, condition)
        else:
            raise PatternError(f"{key!r}: a leaf must be an array of conditions, got {value!r}")


def _validate_condition(key: str, condition: Any) -> None:
    if _is_scalar(condition):
        return
    if not isinstance(condition, Mapping) or len(condition) != 1:
        raise PatternError(f"{key!r}: a condition is a scalar or an object with one operator, got {condition!r}")
    ((op, operand),) = condition.items()
    if op in STRING_OPERATORS:
        if not isinstance(operand, str):
            raise PatternError(f"{key!r}: {op} takes a string, got {operand!r}")
    elif op == "anything-but":
        if isinstance(operand, Mapping):
            if len(operand) != 1 or next(iter(operand)) not in ("prefix", "suffix"):
                raise PatternError(f"{key!r}: anything-but takes a scalar, an array or {{prefix|suffix}}")
            if not isinstance(next(iter(operand.values())), str):
                raise PatternError(f"{key!r}: anything-but {next(iter(operand))} takes a string")
        elif isinstance(operand, list):
            if not operand or not all(_is_scalar(v) for v in operand):
                raise PatternError(f"{key!r}: anything-but takes a non-empty array of scalars")
        elif not _is_scalar(operand):
            raise PatternError(f"{key!r}: anything-but takes a scalar, an array or {{prefix|suffix}}")
    elif op == "numeric":
        if not isinstance(operand, list) or not operand or len(operand) % 2:
            raise PatternError(f"{key!r}: numeric takes [operator, number, ...]")
        for i in range(0, len(operand), 2):
            if operand[i] not in NUMERIC_OPERATORS or not _is_number(operand[i + 1]):
                raise PatternError(f"{key!r}: numeric: bad pair {operand[i : i + 2]!r}")
    elif op == "cidr":
        try:
            ipaddress.ip_network(operand, strict=False)
        except (TypeError, ValueError) as exc:
            raise PatternError(f"{key!r}: cidr takes a network, got {operand!r}") from exc
    elif op == "exists":
        if not isinstance(operand, bool):
            raise PatternError(f"{key!r}: exists takes true or false")
    else:
        raise PatternError(f"{key!r}: unknown operator {op!r}")


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether `event` (one CloudEvent, a JSON object) matches `pattern`. Validates first."""
    validate(pattern)
    return _match_object(pattern, event)


def _match_object(pattern: Mapping[str, Any], event: Any) -> bool:
    if not isinstance(event, Mapping):
        return False
    for key, sub in pattern.items():
        value = event.get(key, _MISSING)
        if isinstance(sub, Mapping):
            if value is _MISSING or not _match_object(sub, value):
                return False
        elif not _match_leaf(sub, value):
            return False
    return True


def _match_leaf(conditions: Sequence[Any], value: Any) -> bool:
    if value is _MISSING:
        return any(isinstance(c, Mapping) and c.get("exists") is False for c in conditions)
    values = value if isinstance(value, list) else [value]
    return any(_match_condition(c, v) for c in conditions for v in values)


def _match_condition(condition: Any, value: Any) -> bool:
    if not isinstance(condition, Mapping):
        return _same(condition, value)
    ((op, operand),) = condition.items()
    if op == "exists":
        return operand is True
    if op in STRING_OPERATORS:
        if not isinstance(value, str):
            return False
        if op == "prefix":
            return value.startswith(operand)
        if op == "suffix":
            return value.endswith(operand)
        return operand in value
    if op == "anything-but":
        if isinstance(operand, Mapping):
            ((how, text),) = operand.items()
            if not isinstance(value, str):
                return False
            return not (value.startswith(text) if how == "prefix" else value.endswith(text))
        excluded = operand if isinstance(operand, list) else [operand]
        return not any(_same(e, value) for e in excluded)
    if op == "numeric":
        if not _is_number(value):
            return False
        return all(_compare(value, operand[i], operand[i + 1]) for i in range(0, len(operand), 2))
    if op == "cidr":
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(operand, strict=False)
        except ValueError:
            return False
    raise PatternError(f"unknown operator {op!r}")  # validate() rules this out


def _compare(value: float, op: str, bound: float) -> bool:
    if op == "<":
        return value < bound
    if op == "<=":
        return value <= bound
    if op == "=":
        return value == bound
    if op == ">":
        return value > bound
    return value >= bound
