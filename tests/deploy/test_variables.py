"""Every configuration variable the code reads (config.VARIABLES) is in s.yaml and in the README's
table of variables, and the reverse; the table's defaults are s.yaml's, and s.yaml's are the
code's own. docs/configuration.md and docs/deployment.md follow the same table."""

from __future__ import annotations

import ast
import re

from havip_failover.config import VARIABLES, Config, load
from tests.conftest import RECORD_KEY
from tests.deploy.deployfiles import DEPLOY_PREFIX, HANDLER, README, ROOT, S_YAML, props, raw_document
from tests.deploy.devs_yaml import expressions

NAME = re.compile(r"\b(?:HAVIP|LOG)_[A-Z0-9_]*[A-Z0-9]\b")
ENV_CALL = re.compile(r"env\('([A-Z0-9_]+)'")
ENV_DEFAULT = re.compile(r"env\('([A-Z0-9_]+)',\s*'([^']*)'\)")
# A row of a variables table: | `NAME` | default | ...
ROW = re.compile(r"^\| `([A-Z0-9_]+)` \| ([^|]*) \|", re.MULTILINE)
CONFIGURATION = ROOT / "docs" / "configuration.md"
DEPLOYMENT = ROOT / "docs" / "deployment.md"
# The variables s.yaml sets for the runtime rather than for our code.
RUNTIME_VARIABLES = {"PYTHONPATH"}
# Read by the code but without effect on FC, so neither deployed nor in the configuration table.
LOCAL_ONLY: dict[str, str] = {}


def _raw_environment() -> dict[str, str]:
    props_ = raw_document()["resources"]["havip-failover"]["props"]
    env = props_["environmentVariables"]
    assert isinstance(env, dict)
    return env


def _table(text: str) -> dict[str, str]:
    """The variables table in a Markdown text (the one whose header starts `| Variable | Default`):
    name -> default cell."""
    start = text.find("| Variable | Default |")
    assert start >= 0, "no table with the header | Variable | Default |"
    lines = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        lines.append(line)
    rows = ROW.findall("\n".join(lines))
    names = [name for name, _ in rows]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"listed twice: {twice}"
    return {name: default.strip() for name, default in rows}


def _s_yaml_defaults() -> dict[str, str]:
    """Every variable s.yaml reads, with the default it gives it (the same wherever it is read)."""
    defaults: dict[str, str] = {}
    for name, default in ENV_DEFAULT.findall(S_YAML.read_text(encoding="utf-8")):
        assert defaults.setdefault(name, default) == default, f"s.yaml gives {name} two defaults"
    return defaults


def _check_defaults(where: str, table: dict[str, str]) -> None:
    """A default written as `value` is s.yaml's; one written in words, e.g. "(empty: ...)",
    stands for s.yaml's empty default."""
    defaults = _s_yaml_defaults()
    for name, cell in table.items():
        if name not in defaults:
            continue
        literal = re.fullmatch(r"`([^`]*)`", cell)
        if literal:
            assert literal.group(1) == defaults[name], f"{where}: {name} defaults to {cell}, s.yaml: {defaults[name]!r}"
        else:
            assert defaults[name] == "", f"{where}: {name}'s default is {cell!r}, s.yaml's {defaults[name]!r}"
            assert cell.startswith(("(empty", "(none")), f"{where}: {name}'s default is {cell!r}: say (empty…)"


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
    # s.yaml holds no key (each deployment sets its own): the function refuses to run without one
    assert env["HAVIP_RECORD_KEY"] == "" and env["HAVIP_RECORD_KEY_PREVIOUS"] == ""
    keyed = {k: v for k, v in env.items() if k in VARIABLES} | {"HAVIP_RECORD_KEY": RECORD_KEY}
    loaded = load(keyed)  # no FC_REGION either
    assert loaded == Config(record_key_text=RECORD_KEY)


def test_s_yaml_passes_values_through() -> None:
    values = {name: f"value-of-{name}" for name in VARIABLES}
    env = props(values)["environmentVariables"]
    assert {name: env[name] for name in VARIABLES} == values


def test_the_readme_table_is_every_variable() -> None:
    table = _table(README.read_text(encoding="utf-8"))
    in_yaml = set(NAME.findall(S_YAML.read_text(encoding="utf-8")))
    deploy = {n for n in in_yaml if n.startswith(DEPLOY_PREFIX)}
    assert deploy, "s.yaml has no deployment variables: the scan is broken"
    wanted = set(VARIABLES) | in_yaml
    missing = wanted - set(table)
    assert not missing, f"README's table of variables lacks {sorted(missing)}"
    unknown = set(table) - wanted
    assert not unknown, f"README's table names variables neither the code nor s.yaml reads: {sorted(unknown)}"


def test_the_readme_table_gives_s_yamls_defaults() -> None:
    _check_defaults("README", _table(README.read_text(encoding="utf-8")))


def test_the_configuration_reference_is_every_function_variable() -> None:
    table = _table(CONFIGURATION.read_text(encoding="utf-8"))
    assert set(table) == set(VARIABLES), (
        f"docs/configuration.md: missing {sorted(set(VARIABLES) - set(table))}, "
        f"unknown {sorted(set(table) - set(VARIABLES))}"
    )
    _check_defaults("docs/configuration.md", table)


def test_the_deployment_guide_names_every_deployment_variable() -> None:
    in_yaml = {n for n in NAME.findall(S_YAML.read_text(encoding="utf-8")) if n.startswith(DEPLOY_PREFIX)}
    table = _table(DEPLOYMENT.read_text(encoding="utf-8"))
    assert in_yaml, "s.yaml has no deployment variables: the scan is broken"
    assert set(table) == in_yaml, (
        f"docs/deployment.md: missing {sorted(in_yaml - set(table))}, unknown {sorted(set(table) - in_yaml)}"
    )
    _check_defaults("docs/deployment.md", table)
