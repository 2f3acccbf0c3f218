"""Each EventBridge rule s.yaml creates takes its samples from events/ and no other."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from havip_failover.model import ParseOptions
from havip_failover.sources import ecs, eventbridge
from tests.deploy.deployfiles import EVENTS, props, triggers
from tests.deploy.eventpattern import matches, validate

FAILURE = "eventbridge-ecs-system-failure-stop.json"

# Which rule should deliver each EventBridge sample (every element of a batch file).
EXPECTED: dict[str, set[str]] = {
    "eventbridge-ecs-stopped-standby.json": {"ecs-state"},
    "eventbridge-ecs-stopping.json": {"ecs-state"},
    "eventbridge-ecs-running-recovery.json": {"ecs-state"},
    "eventbridge-batch.json": {"ecs-state"},
    "eventbridge-ecs-system-failure-stop.json": {"ecs-failure"},
    "eventbridge-ecs-instance-failure-reboot.json": {"ecs-failure"},  # Executed: a recovery
    "eventbridge-ecs-system-maintenance-executing.json": {"ecs-failure"},
    "eventbridge-ecs-preemptible-interruption.json": {"ecs-failure"},
    # announced, not happened: nothing to decide
    "eventbridge-ecs-system-failure-redeploy-scheduled.json": set(),
    "eventbridge-ecs-system-maintenance-scheduled.json": set(),
    "eventbridge-batch-json-strings.json": {"ecs-state"},
    "eventbridge-batch-one-unreadable.json": {"ecs-state"},
    "eventbridge-cms-agent-stopped.json": {"cms-agent"},
    "eventbridge-cms-agent-running.json": {"cms-agent"},
    # Every alarm of the account comes as AlertWebHook: alarms reach the function through
    # the callback URL of the alarm rules chosen for it (docs/deployment.md, "CloudMonitor alarm rules"), not the bus.
    "eventbridge-cms-alert-webhook.json": set(),
    # A custom bus: the user's own rule delivers it (docs/deployment.md, "CloudMonitor alarm rules").
    "eventbridge-health-custom-bus.json": set(),
}


def _patterns() -> dict[str, dict[str, Any]]:
    patterns = {}
    for name, trigger in triggers(props(), "eventbridge").items():
        pattern = json.loads(trigger["triggerConfig"]["eventRuleFilterPattern"])
        validate(pattern)
        patterns[name] = pattern
    return patterns


def _events(sample: str) -> list[dict[str, Any]]:
    loaded = json.loads((EVENTS / sample).read_text(encoding="utf-8"))
    events = loaded if isinstance(loaded, list) else [loaded]
    events = [json.loads(e) if isinstance(e, str) else e for e in events]  # the older batch format
    assert events and all(isinstance(e, dict) and e.get("specversion") == "1.0" for e in events)
    return events


def _rules_taking(event: dict[str, Any]) -> set[str]:
    return {name for name, pattern in _patterns().items() if matches(pattern, event)}


def test_every_eventbridge_sample_is_accounted_for() -> None:
    assert {p.name for p in EVENTS.glob("eventbridge-*.json")} == set(EXPECTED)


def test_every_rule_has_samples() -> None:
    assert set(_patterns()) == set().union(*EXPECTED.values())


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_each_sample_reaches_exactly_its_rules(sample: str) -> None:
    for event in _events(sample):
        assert _rules_taking(event) == EXPECTED[sample], (sample, event["type"])


def _variant(sample: str, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(_events(sample)[0])
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = event
        for key in parents:
            target = target[key]
        target[last] = value
    return event


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        # states that never lead to a decision are not delivered
        (_variant("eventbridge-ecs-stopping.json", data__content__state="Starting"), set()),
        (_variant("eventbridge-ecs-stopping.json", data__content__state="Created"), set()),
        (_variant("eventbridge-ecs-stopping.json", data__content__state="Deleted"), {"ecs-state"}),
        # a failure event announced, cancelled, avoided or failed leads to no decision
        (_variant(FAILURE, data__content__eventStatus="Canceled"), set()),
        (_variant(FAILURE, data__content__eventStatus="Avoided"), set()),
        (_variant(FAILURE, data__content__eventStatus="Scheduled"), set()),
        (_variant(FAILURE, data__content__eventStatus="Inquiring"), set()),
        (_variant(FAILURE, data__content__eventStatus="Failed"), set()),
        (_variant(FAILURE, data__content__eventStatus="Executed"), {"ecs-failure"}),
        # the failure types with a status suffix, and every failure type named in the design
        (_variant(FAILURE, type="ecs:Instance:SystemFailure.Stop:Executing"), {"ecs-failure"}),
        (_variant(FAILURE, type="ecs:Instance:SystemFailure.Reboot"), {"ecs-failure"}),
        (_variant(FAILURE, type="ecs:Instance:SystemFailure.Redeploy"), {"ecs-failure"}),
        (_variant(FAILURE, type="ecs:Instance:SystemFailure.Delete"), {"ecs-failure"}),
        (_variant(FAILURE, type="ecs:Instance:SystemMaintenance.Reboot"), {"ecs-failure"}),
        (_variant(FAILURE, type="ecs:Instance:SystemMaintenance.IsolateErrorDisk"), set()),
        (_variant(FAILURE, type="ecs:Instance:InstanceExpiration.Stop"), set()),
        (_variant("eventbridge-ecs-preemptible-interruption.json", source="custom.ecs"), set()),
        # another product's events, or an ECS-looking custom source, are not ECS events
        (_variant("eventbridge-ecs-stopping.json", source="custom.ecs"), set()),
        (_variant("eventbridge-cms-agent-stopped.json", source="acs.ecs"), set()),
        (_variant("eventbridge-cms-agent-stopped.json", type="cms:CloudMonitor:AlertWebHook"), set()),
    ],
)
def test_variants(event: dict[str, Any], expected: set[str]) -> None:
    assert _rules_taking(event) == expected


_SYSTEM_NAMES = [n for n in ecs.SUPPORTED_NAMES if n != ecs.STATE_CHANGE] + [
    "Instance:SystemMaintenance.IsolateErrorDisk"
]


# every type with every status (a spot-instance interruption carries none)
_COMBINATIONS = [(n, s) for n in _SYSTEM_NAMES for s in (*ecs.STATUSES, None) if n != ecs.PREEMPTIBLE or s is None]


@pytest.mark.parametrize(("name", "status"), _COMBINATIONS)
def test_ecs_failure_rule_delivers_exactly_what_leads_to_a_decision(name: str, status: str | None) -> None:
    # GIVEN a system event of every type and status, the status in content.eventStatus
    event = copy.deepcopy(_events(FAILURE)[0])
    event["type"] = "ecs:" + name
    content = event["data"]["content"]
    content["eventType"] = name.split(":", 1)[1]
    if status is None:
        content.pop("eventStatus")
    else:
        content["eventStatus"] = status
    state = eventbridge.parse_cloudevent(event, ParseOptions()).state
    delivered = _rules_taking(event) == {"ecs-failure"}
    if status is None and "SystemMaintenance" in name:
        # over-delivered and harmless: the parser reads it as info (ECS always sends a status)
        assert (delivered, state) == (name != "Instance:SystemMaintenance.IsolateErrorDisk", "info")
        return
    # THEN the rule delivers it exactly when the parser derives failed or recovered
    assert delivered == (state in ("failed", "recovered")), (name, status, state)
