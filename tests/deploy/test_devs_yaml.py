"""The Serverless Devs variable resolver the s.yaml tests rely on (`s preview` checks it too)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.devs_yaml import UnresolvedVariable, UnsupportedExpression, expressions, resolve, resolve_string

SCOPE: dict[str, Any] = {
    "env": {"SET": "value", "EMPTY": "", "FLAG": "false"},
    "config": {"AccountID": "1234567890123456"},
    "vars": {"region": "cn-hangzhou", "block": {"a": 1, "b": [True]}},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${env('SET', 'default')}", "value"),
        ("${env('UNSET', 'default')}", "default"),
        ("${env('EMPTY', 'default')}", "default"),  # s: an empty variable is unset
        ("${env('SET')}", "value"),
        ("${vars.region}", "cn-hangzhou"),
        ("${vars.block}", {"a": 1, "b": [True]}),  # a whole-string expression keeps its type
        ("acs:ram::${config('AccountID')}:role/${vars.region}", "acs:ram::1234567890123456:role/cn-hangzhou"),
        ("${env('SET', '') ? vars.block : 'auto'}", {"a": 1, "b": [True]}),
        ("${env('UNSET', '') ? vars.block : 'auto'}", "auto"),
        ("${env('FLAG', 'true') !== 'false'}", False),
        ("${env('UNSET', 'true') !== 'false'}", True),
        ("${env('SET', '') === 'value'}", True),
        ("x-${env('FLAG', '') !== 'false'}", "x-false"),  # booleans interpolate as JavaScript does
        ("${ ( env('SET', '') ) }", "value"),
        ("no variables", "no variables"),
    ],
)
def test_resolve_string(text: str, expected: Any) -> None:
    assert resolve_string(text, SCOPE) == expected


def test_config_without_s_config_stays_literal_as_in_s_preview() -> None:
    assert resolve_string("${config('AccountID')}", {**SCOPE, "config": None}) == "${config('AccountID')}"


def test_an_unset_variable_without_default_is_an_error() -> None:
    with pytest.raises(UnresolvedVariable):
        resolve_string("${env('UNSET')}", SCOPE)


@pytest.mark.parametrize(
    "text",
    [
        "${env('SET', '') || 'x'}",
        "${file('./a.json')}",
        "${vars.missing}",
        "${env('SET', '') ?}",
        "${process.env.HOME}",
        "${1 + 1}",
    ],
)
def test_syntax_outside_the_subset_is_refused(text: str) -> None:
    with pytest.raises(UnsupportedExpression):
        resolve_string(text, SCOPE)


def test_resolve_document_resolves_vars_first() -> None:
    document = {
        "vars": {"name": "${env('UNSET', 'fn')}"},
        "resources": {"r": {"props": {"functionName": "${vars.name}", "n": 3, "list": ["${vars.name}"]}}},
    }
    resolved = resolve(document, {"OTHER": "x"})
    assert resolved["resources"]["r"]["props"] == {"functionName": "fn", "n": 3, "list": ["fn"]}
    assert resolved["vars"] == {"name": "fn"}
    assert expressions(document) == ["env('UNSET', 'fn')", "vars.name", "vars.name"]
