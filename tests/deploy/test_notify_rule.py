"""The EventBridge rule s.yaml can deploy on the function's events: a ROS stack (component ros,
deploy/notify-rule.yaml) with a DingTalk robot target, off by default (`s deploy` skips it),
on the bus the function publishes to, matching every event the function publishes and nothing
else on the bus."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from havip_failover.config import EVENT_BUS_RE
from havip_failover.publish import PAIR_TYPES, TYPES, Outbox
from havip_failover.record import PairState
from havip_failover.result import Outcome, RecordWrite, Report
from tests.deploy.deployfiles import (
    EVENTS,
    EVERYTHING_SET,
    NOTIFY,
    NOTIFY_TEMPLATE,
    RESOURCE,
    notify_props,
    notify_template,
    props,
    raw_document,
)
from tests.deploy.eventpattern import matches, validate


def _rule() -> dict[str, Any]:
    resources = notify_template()["Resources"]
    (rule,) = [r for r in resources.values() if r["Type"] == "ALIYUN::EventBridge::Rule"]
    assert set(resources) == {"Rule"}, "the stack holds the rule and nothing else"
    properties = rule["Properties"]
    assert isinstance(properties, dict)
    return properties


def _published() -> list[dict[str, Any]]:
    """One event of every kind the function publishes, as a rule sees it on the bus."""
    outbox = Outbox("req", lambda: 1_800_000_000.0)
    reports = []
    for outcome in Outcome:
        r = Report("remove", "manual", "failed", "i-1", "e", "d", "cn-hangzhou", "havip-1", outcome=outcome)
        r.record = RecordWrite(error={"code": "Forbidden.RAM", "message": "denied"})
        reports.append(r)
    outbox.decisions(reports)
    for state in PAIR_TYPES:
        outbox.pair("cn-hangzhou", "havip-1", PairState(state, 1_800_000_000.0), None, {})  # type: ignore[arg-type]
    events = [
        {
            "specversion": e.spec_version,
            "id": e.id,
            "source": e.source,
            "type": e.type,
            "subject": e.subject,
            "time": e.time,
            "datacontenttype": e.data_content_type,
            "data": dict(e.data),
        }
        for e in outbox.events
    ]
    assert {e["type"] for e in events} == set(TYPES), "the sample misses a kind of event"
    return events


def test_the_rule_is_off_by_default_s_deploy_deploys_the_function_alone() -> None:
    document = raw_document()
    assert document["flow"] == {"deploy": [[RESOURCE]]}
    assert set(document["resources"]) == {RESOURCE, NOTIFY}
    assert document["resources"][NOTIFY]["component"] == "ros"


def test_the_stack_is_the_template_with_every_parameter_it_takes() -> None:
    p = notify_props()
    assert p["template"] == "./deploy/notify-rule.yaml" and NOTIFY_TEMPLATE.is_file()
    assert set(p["parameters"]) == set(notify_template()["Parameters"])
    assert p["name"] == "havip-failover-notify" and p["region"] == props()["region"]


def test_the_rule_is_on_the_bus_the_function_publishes_to() -> None:
    p, fn = notify_props(EVERYTHING_SET), props(EVERYTHING_SET)
    assert p["parameters"]["EventBusName"] == fn["environmentVariables"]["HAVIP_EVENT_BUS"] == "havip-failover"
    assert _rule()["EventBusName"] == {"Ref": "EventBusName"}
    # the template refuses what the function refuses as a bus name
    pattern = notify_template()["Parameters"]["EventBusName"]["AllowedPattern"]
    assert pattern == EVENT_BUS_RE.pattern


def test_the_pattern_matches_every_event_the_function_publishes() -> None:
    pattern = _rule()["FilterPattern"]
    validate(pattern)
    for event in _published():
        assert matches(pattern, event), event["type"]


def test_the_pattern_takes_nothing_else() -> None:
    pattern = _rule()["FilterPattern"]
    others = [json.loads(p.read_text()) for p in sorted(EVENTS.glob("eventbridge-*.json"))]
    flat = [e for o in others for e in (o if isinstance(o, list) else [o]) if isinstance(e, dict)]
    assert flat and not any(matches(pattern, e) for e in flat)
    forged = {**_published()[0], "source": "someone-else"}
    assert not matches(pattern, forged)


def test_the_target_is_a_dingtalk_robot_with_secrets_kept_out_of_sight() -> None:
    (target,) = _rule()["Targets"]
    assert target["Type"] == "acs.dingtalk"
    params = {p["ResourceKey"]: p for p in target["ParamList"]}
    assert params["URL"] == {"ResourceKey": "URL", "Form": "CONSTANT", "Value": {"Ref": "DingTalkWebhook"}}
    assert params["SecretKey"]["Value"] == {"Ref": "DingTalkSecret"}
    parameters = notify_template()["Parameters"]
    assert parameters["DingTalkWebhook"]["NoEcho"] is True and parameters["DingTalkSecret"]["NoEcho"] is True
    # the message: every ${name} of the template is a JSONPath the Value defines
    body = params["Body"]
    assert body["Form"] == "TEMPLATE"
    values = json.loads(body["Value"])
    assert set(re.findall(r"\$\{(\w+)\}", body["Template"])) == set(values)
    assert all(path.startswith("$.") for path in values.values())
    filled = json.loads(re.sub(r"\$\{\w+\}", "x", body["Template"]))  # a DingTalk text message once filled in
    assert filled["msgtype"] == "text" and "havip-failover" in filled["text"]["content"]


def test_the_robot_and_the_switch_come_from_deployment_variables() -> None:
    default = notify_props()["parameters"]
    assert (default["Status"], default["DingTalkWebhook"], default["DingTalkSecret"]) == ("ENABLE", "", "")
    chosen = notify_props(EVERYTHING_SET)["parameters"]
    assert chosen["Status"] == "DISABLE"
    assert chosen["DingTalkWebhook"] == EVERYTHING_SET["HAVIP_DEPLOY_NOTIFY_DINGTALK_URL"]
    assert chosen["DingTalkSecret"] == EVERYTHING_SET["HAVIP_DEPLOY_NOTIFY_DINGTALK_SECRET"]
    # and the template accepts those values (its AllowedPattern), and refuses an empty robot
    parameters = notify_template()["Parameters"]
    for name in ("DingTalkWebhook", "DingTalkSecret"):
        assert re.fullmatch(parameters[name]["AllowedPattern"], chosen[name])
        assert not re.fullmatch(parameters[name]["AllowedPattern"], default[name])
    assert chosen["Status"] in parameters["Status"]["AllowedValues"]


@pytest.mark.parametrize("kind", TYPES)
def test_every_type_is_a_type_eventbridge_takes(kind: str) -> None:
    assert len(kind) <= 64 and kind.startswith("havip-failover:")
