"""Serverless Devs' own parser (`s preview`, offline) reads s.yaml as these tests do.

`s` is the one pinned in package.json/package-lock.json, which `make test` installs into
./node_modules with `npm ci` (scripts/tools.sh); a global `s` is used only when that one is
absent. Skipped, with the reason, where neither exists (no node/npm on the machine).
`s preview` needs neither credentials nor the fc3 component (checked: it runs with no network
and an empty HOME); `s plan`/`s deploy` need both (the component is downloaded from Serverless
Devs' registry at first use). Should a future `s preview` try to download a component and
fail, the test fails and says so: it never passes without having run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.deployfiles import NOTIFY, RESOURCE, S_YAML, SCENARIOS, notify_props, props, raw_document, schema

ROOT = Path(__file__).resolve().parents[2]
LOCAL_S = ROOT / "node_modules" / ".bin" / "s"
S = str(LOCAL_S) if os.access(LOCAL_S, os.X_OK) else shutil.which("s")
pytestmark = pytest.mark.skipif(
    S is None,
    reason="Serverless Devs (`s`) is not installed: `make test` installs it with npm ci (package-lock.json) "
    "when node and npm are there (scripts/tools.sh installs them with apt-get when run as root)",
)
# What `s` prints when it cannot fetch a component (it would, for a command that needs fc3)
_DOWNLOAD_FAILURE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "download", "registry")


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
    if result.returncode != 0 and any(word in result.stdout + result.stderr for word in _DOWNLOAD_FAILURE):
        pytest.fail(
            "s preview tried to download a component (fc3?) and could not: this machine cannot run it offline.\n"
            f"{result.stdout}\n{result.stderr}"
        )
    assert result.returncode == 0, f"s preview failed:\n{result.stdout}\n{result.stderr}"
    # s may print a warning line (e.g. about running as root) before the document
    start = result.stdout.find("\n{") + 1 if not result.stdout.startswith("{") else 0
    document = json.loads(result.stdout[start:])
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """s.yaml as `s preview` resolves it, per scenario."""
    return {name: _preview(env, tmp_path_factory.mktemp(f"s-home-{name}")) for name, env in SCENARIOS.items()}


@pytest.fixture(scope="module")
def previewed(documents: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The fc3 props as `s preview` resolves them, per scenario."""
    return {name: document["resources"][RESOURCE]["props"] for name, document in documents.items()}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_s_preview_resolves_the_notification_rule_and_the_flow_as_the_tests_do(
    scenario: str, documents: dict[str, dict[str, Any]]
) -> None:
    document = documents[scenario]
    assert document["resources"][NOTIFY]["props"] == notify_props(SCENARIOS[scenario])
    assert document["flow"] == raw_document()["flow"]


def test_s_preview_refuses_a_minimum_of_instances_other_than_0_or_1(tmp_path: Path) -> None:
    assert S is not None
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "CI": "true", "HAVIP_DEPLOY_MIN_INSTANCES": "2"}
    result = subprocess.run(
        [S, "preview", "-t", str(S_YAML), "-o", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "env('HAVIP_DEPLOY_MIN_INSTANCES must be 0 or 1') not found" in result.stdout + result.stderr


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


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="proving that s preview needs no network takes a network namespace (unshare -n, as root)",
)
def test_s_preview_runs_without_any_network(tmp_path: Path) -> None:
    # GIVEN no network at all (a fresh network namespace: not even loopback is up) and an empty HOME
    assert S is not None
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "CI": "true", **SCENARIOS[sorted(SCENARIOS)[0]]}
    result = subprocess.run(
        ["unshare", "-n", S, "preview", "-t", str(S_YAML), "-o", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN it still resolves s.yaml: no component download, no registry
    assert result.returncode == 0, f"s preview needs the network here:\n{result.stdout}\n{result.stderr}"
    assert RESOURCE in result.stdout
