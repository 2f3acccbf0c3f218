"""s.yaml: valid fc3 props (the component's own JSON schema) in every branch, and the choices
it makes for a failover function hold."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from havip_failover.config import Config
from havip_failover.entry import budget_seconds
from tests.deploy.deployfiles import (
    EVERYTHING_SET,
    ROOT,
    SCENARIOS,
    SCHEMA,
    props,
    schema,
    triggers,
)
from tests.deploy.devs_yaml import UnresolvedVariable

TRIGGER_DEFINITIONS = {"http": "IHttpTriggerConfig", "eventbridge": "IEventBridge", "timer": "ITimerTriggerConfig"}


def _validator(sub_schema: dict[str, Any] | None = None) -> Any:
    full = schema()
    target = full if sub_schema is None else {**sub_schema, "definitions": full["definitions"]}
    cls = jsonschema.validators.validator_for(full)
    cls.check_schema(full)
    return cls(target)


def _errors(instance: Any, sub_schema: dict[str, Any] | None = None) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(sub_schema).iter_errors(instance)]


def test_the_schema_is_the_repositorys_own_and_a_valid_draft_07_schema() -> None:
    # Inside the checkout (a clone validates s.yaml like CI does), and usable as a schema.
    assert SCHEMA.resolve().is_relative_to(ROOT.resolve())
    full = schema()
    assert full["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(full)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_props_validate_against_the_fc3_schema(scenario: str) -> None:
    assert _errors(props(SCENARIOS[scenario])) == []


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_trigger_config_validates_as_its_own_type(scenario: str) -> None:
    # The schema's triggerConfig is an anyOf of every type: check each against its own.
    definitions = schema()["definitions"]
    for trigger in props(SCENARIOS[scenario])["triggers"]:
        definition = TRIGGER_DEFINITIONS[trigger["triggerType"]]
        errors = _errors(trigger["triggerConfig"], {"$ref": f"#/definitions/{definition}"})
        assert errors == [], (trigger["triggerName"], errors)
        assert definition in definitions


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("runtime",), "python3.11"),
        (("memorySize",), 1000),  # not a multiple of 64
        (("region",), "cn-nowhere"),
        (("environmentVariables", "HAVIP_WAIT_SECONDS"), 30),  # variables are strings
        (("concurrencyConfig",), {}),
        (("asyncInvokeConfig", "maxAsyncRetryAttempts"), 9),
    ],
)
def test_the_schema_check_is_not_vacuous(path: tuple[str, ...], bad: Any) -> None:
    broken = copy.deepcopy(props())
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    assert _errors(broken) != []


def test_the_trigger_check_is_not_vacuous() -> None:
    eventbridge = copy.deepcopy(next(iter(triggers(props(), "eventbridge").values())))
    del eventbridge["triggerConfig"]["runOptions"]
    assert _errors(eventbridge["triggerConfig"], {"$ref": "#/definitions/IEventBridge"}) != []
    http = copy.deepcopy(next(iter(triggers(props(), "http").values())))
    http["triggerConfig"]["methods"] = ["FETCH"]
    assert _errors(http["triggerConfig"], {"$ref": "#/definitions/IHttpTriggerConfig"}) != []


def test_the_function_itself() -> None:
    p = props()
    assert p["runtime"] == "python3.10"
    assert props({"HAVIP_DEPLOY_RUNTIME": "python3.12"})["runtime"] == "python3.12"
    assert p["code"] == "./handler"  # the code directory only; tests/ and the emulator stay home
    assert p["handler"] == "index.handler"
    assert p["instanceLifecycleConfig"]["initializer"]["handler"] == "index.initialize"
    assert p["role"] == "acs:ram::1234567890123456:role/havip-failover"
    assert p["internetAccess"] is True
    # FC 3.0: 1 to 4 GB of memory per vCPU
    assert 1 <= p["memorySize"] / 1024 / p["cpu"] <= 4


def test_the_timeout_leaves_the_configured_wait_whole() -> None:
    p = props()
    wait = Config().wait_seconds
    assert float(p["environmentVariables"]["HAVIP_WAIT_SECONDS"]) == wait
    # the function's own deadline is not cut by the timeout: it waits as configured
    assert budget_seconds(wait, p["timeout"]) == wait
    assert p["instanceLifecycleConfig"]["initializer"]["timeout"] < p["timeout"]


def test_failover_decisions_are_serialised() -> None:
    p = props()
    assert p["concurrencyConfig"] == {"reservedConcurrency": 1}
    assert p["instanceConcurrency"] == 1


def test_async_invocations_do_not_outlive_the_incident() -> None:
    config = props()["asyncInvokeConfig"]
    # an hour-old event must never fail a VIP over: FC drops it long before
    assert config["maxAsyncEventAgeInSeconds"] <= 300
    assert 1 <= config["maxAsyncRetryAttempts"] <= 3
    # and the retries fit in that age even when each run takes the whole timeout
    assert (config["maxAsyncRetryAttempts"] + 1) * props()["timeout"] <= config["maxAsyncEventAgeInSeconds"]
    assert "destinationConfig" not in config


def test_the_failure_destination_appears_only_when_set() -> None:
    destination = EVERYTHING_SET["HAVIP_DEPLOY_ASYNC_FAILURE_DESTINATION"]
    config = props({"HAVIP_DEPLOY_ASYNC_FAILURE_DESTINATION": destination})["asyncInvokeConfig"]
    assert config["destinationConfig"] == {"onFailure": {"destination": destination}}
    assert {k: v for k, v in config.items() if k != "destinationConfig"} == props()["asyncInvokeConfig"]


def test_logs_go_to_sls() -> None:
    assert props()["logConfig"] == "auto"
    explicit = props({"HAVIP_DEPLOY_LOG_PROJECT": "ops-logs"})["logConfig"]
    assert explicit["project"] == "ops-logs"
    assert explicit["logstore"] == "havip-failover"
    assert explicit["logBeginRule"] == "None"  # one JSON line, one entry


def test_the_http_trigger_takes_posts_and_inspect_gets() -> None:
    http = triggers(props(), "http")
    assert list(http) == ["cloudmonitor-callback"]
    config = http["cloudmonitor-callback"]["triggerConfig"]
    assert config["methods"] == ["POST", "GET"]
    # CloudMonitor can neither sign nor send a JWT: the function checks the token itself
    assert config["authType"] == "anonymous"
    assert config.get("disableURLInternet", False) is False


def test_the_eventbridge_triggers_are_async_rules_on_the_default_bus() -> None:
    eventbridge = triggers(props(), "eventbridge")
    assert set(eventbridge) == {"ecs-state", "ecs-failure", "cms-agent"}
    for name, trigger in eventbridge.items():
        config = trigger["triggerConfig"]
        assert config["asyncInvocationType"] is True, name  # asyncInvokeConfig applies
        assert config["triggerEnable"] is True, name
        assert config["eventSourceConfig"]["eventSourceType"] == "Default", name
        assert config["eventSinkConfig"]["deliveryOption"]["eventSchema"] == "CloudEvents", name
        assert config["runOptions"]["mode"] == "event-driven", name
        assert trigger.get("qualifier", "LATEST") == "LATEST", name
    disabled = triggers(props({"HAVIP_DEPLOY_EVENTS_ENABLED": "false"}), "eventbridge")
    assert all(t["triggerConfig"]["triggerEnable"] is False for t in disabled.values())


@pytest.mark.parametrize(
    ("env", "cron", "enabled"),
    [
        ({}, "@every 1m", True),
        (
            {"HAVIP_DEPLOY_RECONCILE_CRON": "0 */5 * * * *", "HAVIP_DEPLOY_RECONCILE_ENABLED": "false"},
            "0 */5 * * * *",
            False,
        ),
    ],
)
def test_the_reconcile_timer_runs_every_minute_unless_told_otherwise(
    env: dict[str, str], cron: str, enabled: bool
) -> None:
    (timer,) = triggers(props(env), "timer").values()
    assert timer["triggerName"] == "reconcile"
    assert timer["triggerConfig"] == {"cronExpression": cron, "enable": enabled, "payload": "reconcile"}


@pytest.mark.parametrize(("value", "minimum"), [(None, 0), ("0", 0), ("1", 1)])
def test_minimum_instances_are_0_or_1_and_valid_fc3(value: str | None, minimum: int) -> None:
    env = {} if value is None else {"HAVIP_DEPLOY_MIN_INSTANCES": value}
    p = props(env)
    assert p["scalingConfig"] == {"minInstances": minimum}
    assert _errors(p["scalingConfig"], {"$ref": "#/definitions/IScalingConfig"}) == []
    # a number, as the schema wants (a string "1" would not do)
    assert _errors({**p, "scalingConfig": {"minInstances": "1"}}) != []


@pytest.mark.parametrize("bad", ["2", "yes", "-1", "01"])
def test_any_other_minimum_stops_the_deployment_naming_what_is_accepted(bad: str) -> None:
    with pytest.raises(UnresolvedVariable, match="HAVIP_DEPLOY_MIN_INSTANCES must be 0 or 1"):
        props({"HAVIP_DEPLOY_MIN_INSTANCES": bad})
