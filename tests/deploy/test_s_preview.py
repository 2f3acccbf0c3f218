"""Serverless Devs' own parser (`s preview`, offline) reads s.yaml as these tests do.

Skipped where `s` is not installed (`npm install -g @serverless-devs/s`). `s preview` needs
neither credentials nor the fc3 component; `s plan`/`s deploy` need both (the component is
downloaded from Serverless Devs' registry at first use).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.deployfiles import RESOURCE, S_YAML, SCENARIOS, props, schema

S = shutil.which("s")
pytestmark = pytest.mark.skipif(
    S is None, reason="Serverless Devs (`s`) is not installed: npm install -g @serverless-devs/s"
)


def _preview(env_vars: dict[str, str], home: Path) -> dict[str, Any]:
    assert S is not None
    # A scratch HOME (s writes logs and settings there), CI=true (no update check), and no
    # variable of the caller's shell but PATH: only the scenario's variables.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "CI": "true", **env_vars}
    result = subprocess.run(
        [S, "preview", "-t", str(S_YAML), "-o", "json"],
        cwd=home,  # not the checkout: s would also read a .env there
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"s preview failed:\n{result.stdout}\n{result.stderr}"
    # s may print a warning line (e.g. about running as root) before the document
    start = result.stdout.find("\n{") + 1 if not result.stdout.startswith("{") else 0
    document = json.loads(result.stdout[start:])
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def previewed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The fc3 props as `s preview` resolves them, per scenario."""
    return {
        name: _preview(env, tmp_path_factory.mktemp(f"s-home-{name}"))["resources"][RESOURCE]["props"]
        for name, env in SCENARIOS.items()
    }


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_s_preview_resolves_s_yaml_as_the_tests_do(scenario: str, previewed: dict[str, dict[str, Any]]) -> None:
    # without `s config`, s preview leaves ${config('AccountID')} as it is: so does the resolver
    assert previewed[scenario] == props(SCENARIOS[scenario], config=None)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_what_s_preview_produces_validates_against_the_fc3_schema(
    scenario: str, previewed: dict[str, dict[str, Any]]
) -> None:
    import jsonschema  # type: ignore[import-untyped]

    full = schema()
    errors = [e.message for e in jsonschema.validators.validator_for(full)(full).iter_errors(previewed[scenario])]
    assert errors == []
