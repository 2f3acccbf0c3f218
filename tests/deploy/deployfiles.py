"""The deployment files as the tests read them: s.yaml (raw and resolved), the fc3 schema, policies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.devs_yaml import resolve

ROOT = Path(__file__).resolve().parents[2]
S_YAML = ROOT / "s.yaml"
README = ROOT / "README.md"
EVENTS = ROOT / "events"
HANDLER = ROOT / "handler"
POLICIES = ROOT / "policies"
# The fc3 component's props schema (Serverless Devs' fc3 component, JSON Schema draft-07),
# kept in the repository: every clone validates s.yaml against the same file, and nothing
# outside the checkout is read. Replace it by hand when the component's schema changes.
SCHEMA = ROOT / "tests" / "deploy" / "schemas" / "fc3-props.schema.json"
RESOURCE = "havip-failover"
NOTIFY = "havip-failover-notify"  # the EventBridge rule to DingTalk (component ros)
NOTIFY_TEMPLATE = ROOT / "deploy" / "notify-rule.yaml"
ACCOUNT = {"AccountID": "1234567890123456"}

# Deployment-time variables: they choose where and how, and never reach the function.
DEPLOY_PREFIX = "HAVIP_DEPLOY_"

# Every optional branch of s.yaml taken (the defaults are the other branch).
EVERYTHING_SET = {
    "HAVIP_DEPLOY_REGION": "cn-shanghai",
    "HAVIP_DEPLOY_FUNCTION_NAME": "havip-failover-db",
    "HAVIP_DEPLOY_ROLE_NAME": "havip-failover-db",
    "HAVIP_DEPLOY_RUNTIME": "python3.12",
    "HAVIP_DEPLOY_CODE": "./dist/havip-failover.zip",
    "HAVIP_DEPLOY_LOG_PROJECT": "ops-logs-1234567890123456",
    "HAVIP_DEPLOY_LOG_STORE": "havip-db",
    "HAVIP_DEPLOY_ASYNC_FAILURE_DESTINATION": "acs:mns:cn-shanghai:1234567890123456:/queues/havip-failed/messages",
    "HAVIP_DEPLOY_EVENTS_ENABLED": "false",
    "HAVIP_DEPLOY_RECONCILE_CRON": "0 */5 * * * *",
    "HAVIP_DEPLOY_RECONCILE_ENABLED": "false",
    "HAVIP_DEPLOY_MIN_INSTANCES": "1",
    "HAVIP_DEPLOY_NOTIFY_ENABLED": "false",
    "HAVIP_DEPLOY_NOTIFY_DINGTALK_URL": "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef",
    "HAVIP_DEPLOY_NOTIFY_DINGTALK_SECRET": "SEC0123456789abcdef0123456789abcdef",
    "HAVIP_IDS": "havip-uf6pair0000000001",
    "HAVIP_REGION_ID": "cn-shanghai",
    "HAVIP_FORCE": "never",
    "HAVIP_ALLOW_LAST_INSTANCE": "true",
    "HAVIP_DRY_RUN": "true",
    "HAVIP_WAIT_SECONDS": "20",
    "HAVIP_VPC_ENDPOINT": "vpc-vpc.cn-shanghai.aliyuncs.com",
    "HAVIP_VPC_PROTOCOL": "https",
    "HAVIP_CALLBACK_TOKEN": "0123456789abcdef0123456789abcdef",
    "HAVIP_MIN_CONSECUTIVE_FAILURES": "3",
    "HAVIP_ECS_ENDPOINT": "ecs-vpc.cn-shanghai.aliyuncs.com",
    "HAVIP_REQUIRE_SURVIVOR": "false",
    "HAVIP_MAX_EVENT_AGE_SECONDS": "120",
    "HAVIP_TAG": "ha-pair=db",
    "HAVIP_FAILBACK": "standby",
    "HAVIP_FAILBACK_HOLD_SECONDS": "600",
    "HAVIP_COOLDOWN_SECONDS": "0",
    "HAVIP_EVENT_BUS": "havip-failover",
    "HAVIP_EVENTBRIDGE_ENDPOINT": "eventbridge-vpc.cn-shanghai.aliyuncs.com",
    "LOG_LEVEL": "DEBUG",
}
SCENARIOS: dict[str, dict[str, str]] = {"defaults": {}, "everything-set": EVERYTHING_SET}


def raw_document() -> dict[str, Any]:
    document = yaml.safe_load(S_YAML.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def resolved_document(env: Mapping[str, str], config: Mapping[str, str] | None = ACCOUNT) -> dict[str, Any]:
    resolved = resolve(raw_document(), env, config)
    assert isinstance(resolved, dict)
    return resolved


def props(env: Mapping[str, str] | None = None, config: Mapping[str, str] | None = ACCOUNT) -> dict[str, Any]:
    """The fc3 component's props, resolved for `env` (default: nothing set)."""
    resource = resolved_document(env or {}, config)["resources"][RESOURCE]
    assert resource["component"] == "fc3"
    value = resource["props"]
    assert isinstance(value, dict)
    return value


def notify_props(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ros component's props of the notification rule, resolved for `env`."""
    resource = resolved_document(env or {})["resources"][NOTIFY]
    assert resource["component"] == "ros"
    value = resource["props"]
    assert isinstance(value, dict)
    return value


def notify_template() -> dict[str, Any]:
    loaded = yaml.safe_load(NOTIFY_TEMPLATE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def schema() -> dict[str, Any]:
    if not SCHEMA.is_file():
        pytest.fail(f"the fc3 props schema is missing: {SCHEMA}; s.yaml cannot be validated without it")
    loaded = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def triggers(resolved_props: Mapping[str, Any], trigger_type: str) -> dict[str, dict[str, Any]]:
    return {t["triggerName"]: t for t in resolved_props["triggers"] if t["triggerType"] == trigger_type}


def policy(name: str) -> dict[str, Any]:
    loaded = json.loads((POLICIES / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def readme_section(title: str) -> str:
    """The text of README's `## <title>` section, up to the next `## ` heading."""
    text = README.read_text(encoding="utf-8")
    start = text.find(f"\n## {title}\n")
    assert start >= 0, f"README has no '## {title}' section"
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]
