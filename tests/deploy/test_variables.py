"""Every configuration variable the code reads (config.VARIABLES) is in s.yaml and in the README's
configuration table, and the reverse; s.yaml's defaults are the code's own."""

from __future__ import annotations

import ast
import re

from havip_failover.config import VARIABLES, Config, load
from tests.deploy.deployfiles import DEPLOY_PREFIX, HANDLER, S_YAML, props, raw_document, readme_section
from tests.deploy.devs_yaml import expressions

NAME = re.compile(r"\b(?:HAVIP|LOG)_[A-Z0-9_]*[A-Z0-9]\b")
ENV_CALL = re.compile(r"env\('([A-Z0-9_]+)'")
# The variables s.yaml sets for the runtime rather than for our code.
RUNTIME_VARIABLES = {"PYTHONPATH"}
# Read by the code but without effect on FC, so neither deployed nor in the configuration table.
LOCAL_ONLY: dict[str, str] = {}


def _raw_environment() -> dict[str, str]:
    props_ = raw_document()["resources"]["havip-failover"]["props"]
    env = props_["environmentVariables"]
    assert isinstance(env, dict)
    return env


def _readme_table_names() -> list[str]:
    section = readme_section("Configuration")
    return re.findall(r"^\| `([A-Z0-9_]+)` \|", section, flags=re.MULTILINE)


def test_variables_is_what_the_code_reads() -> None:
    # every HAVIP_*/LOG_* name anywhere in the function's code is declared in VARIABLES
    used: set[str] = set()
    for path in HANDLER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                used.update(n for n in NAME.findall(node.value) if n == node.value)
    assert used, "found no variable names in handler/: the scan is broken"
    assert used <= set(VARIABLES) | set(LOCAL_ONLY), used - set(VARIABLES) - set(LOCAL_ONLY)
    assert set(LOCAL_ONLY) <= used, "a LOCAL_ONLY variable the code no longer reads: drop it here"
    assert not set(LOCAL_ONLY) & set(VARIABLES)
    assert len(set(VARIABLES)) == len(VARIABLES)


def test_s_yaml_passes_every_variable_under_its_own_name() -> None:
    env = _raw_environment()
    assert set(env) - RUNTIME_VARIABLES == set(VARIABLES)
    for name in VARIABLES:
        # `${env('NAME', 'default')}`: configured from the deployer's shell, never edited in
        assert re.fullmatch(rf"\$\{{env\('{name}', '[^']*'\)\}}", env[name]), env[name]


def test_every_variable_s_yaml_mentions_is_known() -> None:
    text = S_YAML.read_text(encoding="utf-8")
    mentioned = set(NAME.findall(text))
    deploy = {n for n in mentioned if n.startswith(DEPLOY_PREFIX)}
    assert mentioned - deploy <= set(VARIABLES), (mentioned - deploy) - set(VARIABLES)
    # deployment variables never reach the function
    assert not deploy & set(_raw_environment())
    referenced = {m for e in expressions(raw_document()) for m in ENV_CALL.findall(e)}
    assert referenced <= set(VARIABLES) | deploy, referenced - set(VARIABLES) - deploy


def test_s_yaml_defaults_are_the_codes_defaults() -> None:
    env = props()["environmentVariables"]
    loaded = load({k: v for k, v in env.items() if k in VARIABLES})  # no FC_REGION either
    assert loaded == Config()


def test_s_yaml_passes_values_through() -> None:
    values = {name: f"value-of-{name}" for name in VARIABLES}
    env = props(values)["environmentVariables"]
    assert {name: env[name] for name in VARIABLES} == values


def test_the_readme_table_is_variables() -> None:
    names = _readme_table_names()
    assert sorted(names) == sorted(VARIABLES)
    assert len(names) == len(set(names))


def test_the_readme_deploy_guide_names_every_deployment_variable() -> None:
    in_yaml = {n for n in NAME.findall(S_YAML.read_text(encoding="utf-8")) if n.startswith(DEPLOY_PREFIX)}
    in_readme = {n for n in NAME.findall(readme_section("Deploy")) if n.startswith(DEPLOY_PREFIX)}
    assert in_yaml, "s.yaml has no deployment variables: the scan is broken"
    assert in_yaml == in_readme
