"""The FC entry end to end with an in-memory VPC and a fake clock (no network, no sleeps)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest

from havip_failover.entry import budget_seconds, invoke
from havip_failover.fc_context import Fc310Context, Fc312Context, FcFunction
from havip_failover.vpc import VpcError
from tests.conftest import BASE_ENV, CALLBACK_TOKEN, manual
from tests.fakes import FakeClock, FakeVpc, pair

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
HAVIP = "havip-bp1pair0000000001"
ENV = dict(BASE_ENV)


def health(instance_id: str, event_id: str = "probe-1", **extra: Any) -> bytes:
    """A failed health check naming no HAVIP: the function discovers them."""
    return json.dumps(
        {"type": "havip.health", "instanceId": instance_id, "healthy": False, "id": event_id, **extra}
    ).encode()


def run(event: bytes, vpc: FakeVpc, clock: FakeClock, env: dict[str, str] | None = None, **ctx: Any) -> Any:
    return invoke(event, Fc310Context(request_id="req-fc-1", **ctx), env={**ENV, **(env or {})}, vpc=vpc, clock=clock)


def test_failed_master_is_forced_off_and_completion_confirmed(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN a pair whose master failed
    fake_vpc.add(pair())
    # WHEN the manual event names the master
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock)
    # THEN it is disassociated with Force and the standby becomes master
    assert result["ok"] is True
    (r,) = result["results"]
    assert (r["outcome"], r["reason"], r["force"]) == ("unassociated", "master-failed", True)
    assert r["masterBefore"] == MASTER and r["masterAfter"] == STANDBY
    assert r["statusAfter"] == "InUse"
    assert fake_vpc.havips[HAVIP].associated_instances == (STANDBY,)
    assert result["requestId"] == "req-fc-1"
    assert r["apiRequestIds"] and r["attempts"] == 1


def test_failed_standby_is_removed_without_force(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock)
    (r,) = result["results"]
    assert (r["outcome"], r["force"]) == ("unassociated", False)
    (call,) = [c for c in fake_vpc.calls if c.action == "UnassociateHaVip"]
    assert call.params["force"] is False


def test_discovery_finds_the_havips_of_the_instance(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN 120 unrelated HAVIPs and two holding the failed standby
    for n in range(120):
        fake_vpc.add(pair(ha_vip_id=f"havip-other{n:04d}", master=f"i-m{n}", standby=f"i-s{n}"))
    fake_vpc.add(pair(ha_vip_id="havip-mine1"))
    fake_vpc.add(pair(ha_vip_id="havip-mine2"))
    # WHEN the event names no HAVIP
    result = run(health(STANDBY), fake_vpc, clock)
    # THEN every page was read and both HAVIPs were handled
    assert sorted(r["haVipId"] for r in result["results"]) == ["havip-mine1", "havip-mine2"]
    assert all(r["outcome"] == "unassociated" for r in result["results"])
    pages = [c.params["page"] for c in fake_vpc.calls if c.action == "DescribeHaVips" and not c.params["ids"]]
    assert pages == [1, 2, 3]


def test_allowlist_limits_discovery(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair(ha_vip_id="havip-mine1"))
    fake_vpc.add(pair(ha_vip_id="havip-notmine"))
    result = run(health(STANDBY), fake_vpc, clock, env={"HAVIP_IDS": "havip-mine1"})
    assert [r["haVipId"] for r in result["results"]] == ["havip-mine1"]
    assert STANDBY in fake_vpc.havips["havip-notmine"].associated_instances


def test_named_havip_outside_allowlist_is_not_touched(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock, env={"HAVIP_IDS": "havip-other1"})
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("skipped", "not-managed")
    assert fake_vpc.calls == []


def test_dry_run_makes_no_mutating_call(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock, env={"HAVIP_DRY_RUN": "true"})
    (r,) = result["results"]
    assert (r["outcome"], r["force"], result["dryRun"]) == ("planned", True, True)
    assert fake_vpc.count("UnassociateHaVip") == 0
    assert fake_vpc.count("DescribeHaVips") == 1


def test_manual_dry_run_flag(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY, DryRun=True), fake_vpc, clock)
    assert result["results"][0]["outcome"] == "planned"
    assert fake_vpc.count("UnassociateHaVip") == 0


def test_already_unassociated_makes_no_call(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair(standby="i-bp1someoneelse0001"))
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("already-unassociated", "not-associated")
    assert fake_vpc.count("UnassociateHaVip") == 0


def test_resource_not_associated_counts_as_done(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    fake_vpc.fail_next("UnassociateHaVip", VpcError("ResourceNotAssociated", "gone", http_status=400))
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock)
    assert result["results"][0]["outcome"] == "already-unassociated"
    assert result["ok"] is True


@pytest.mark.parametrize(
    "code",
    [
        "Throttling.User",
        "Throttling",
        "ServiceUnavailable",
        "InternalError",
        "OperationConflict",
        "IncorrectInstanceStatus",
        "OperationFailed.QueryNetworkInterfaceInfo",
        "SystemBusy",
        "LastTokenProcessing",
        "OperationFailed.DistibuteLock",
        "NetworkError",
    ],
)
def test_transient_errors_are_retried_with_the_same_token(fake_vpc: FakeVpc, clock: FakeClock, code: str) -> None:
    fake_vpc.add(pair())
    fake_vpc.fail_next("UnassociateHaVip", VpcError(code, "try later"), VpcError(code, "try later"))
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock)
    (r,) = result["results"]
    assert r["outcome"] == "unassociated"
    assert r["attempts"] == 3
    tokens = {c.params["token"] for c in fake_vpc.calls if c.action == "UnassociateHaVip"}
    assert tokens == {r["clientToken"]}
    assert len(r["clientToken"]) <= 64 and r["clientToken"].isascii()


def test_incorrect_havip_status_redescribes_and_retries(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    fake_vpc.fail_next("UnassociateHaVip", VpcError("IncorrectHaVipStatus", "busy", http_status=400))
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock)
    assert result["results"][0]["outcome"] == "unassociated"
    actions = [c.action for c in fake_vpc.calls]
    # the record (what was taken off lately) and the survivors' ECS states are read side by side
    evidence = {"ListTagResources", "DescribeInstanceStatus"}
    assert actions[0] == "DescribeHaVips" and set(actions[1:3]) == evidence
    assert actions[3] == "UnassociateHaVip"
    # never a second call on the view the first was decided on
    assert actions[4] == "DescribeHaVips" and set(actions[5:7]) == evidence


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("IllegalParam.InstanceType", 400),
        ("InvalidNetworkInterfaceId.NotFound", 400),
        ("ResourceNotFound.Instance", 400),
        ("InvalidInstanceId.NotFound", 404),
        ("InvalidHaVipId.NotFound", 404),
    ],
)
def test_permanent_errors_are_reported_without_retry(
    fake_vpc: FakeVpc, clock: FakeClock, code: str, status: int
) -> None:
    fake_vpc.add(pair())
    fake_vpc.fail_next("UnassociateHaVip", VpcError(code, "no", http_status=status, request_id="req-err-1"))
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock)
    (r,) = result["results"]
    assert r["outcome"] == "failed"
    assert r["error"]["code"] == code and r["error"]["retryable"] is False
    assert "req-err-1" in r["apiRequestIds"]
    assert fake_vpc.count("UnassociateHaVip") == 1
    assert result["ok"] is False


def test_auth_failure_is_permanent(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    fake_vpc.fail_next("DescribeHaVips", VpcError("SignatureDoesNotMatch", "bad signature", http_status=400))
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock)
    (r,) = result["results"]
    assert (r["outcome"], r["error"]["code"], r["error"]["retryable"]) == ("failed", "SignatureDoesNotMatch", False)
    assert fake_vpc.count("DescribeHaVips") == 1


def test_master_changed_under_us_retries_with_force(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN our look says standby, but keepalived promotes it just before our call
    fake_vpc.add(pair())
    fake_vpc.race("UnassociateHaVip", lambda v: v.add(replace(v.havips[HAVIP], master_instance_id=STANDBY)))
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock)
    # THEN the API refuses, we look again and retry with Force
    (r,) = result["results"]
    assert (r["outcome"], r["force"], r["reason"]) == ("unassociated", True, "master-failed")
    forces = [c.params["force"] for c in fake_vpc.calls if c.action == "UnassociateHaVip"]
    assert forces == [False, True]


def test_a_refusal_makes_views_naming_another_master_stale(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN the standby promoted for our call, and our next looks naming the old master again
    fake_vpc.add(pair())
    fake_vpc.race("UnassociateHaVip", lambda v: v.add(replace(v.havips[HAVIP], master_instance_id=STANDBY)))
    fake_vpc.race("DescribeHaVips", lambda v: None)  # the first look: as seeded
    fake_vpc.race("DescribeHaVips", lambda v: v.add(replace(v.havips[HAVIP], master_instance_id=MASTER)))
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock, env={"HAVIP_WAIT_SECONDS": "3"})
    # THEN nothing more is called on a view the API's answer contradicts: pending, no Force
    forces = [c.params["force"] for c in fake_vpc.calls if c.action == "UnassociateHaVip"]
    assert forces == [False]
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("pending", "stale-view")
    assert fake_vpc.havips[HAVIP].associated_instances == (MASTER, STANDBY)


def test_the_api_saying_master_never_forces_over_a_lagging_list(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN the API refusing the standby as master while every look still names the other master
    fake_vpc.add(pair())
    refusal = VpcError("Forbidden.UnassociateMaster", "master", http_status=400)
    fake_vpc.fail_next("UnassociateHaVip", refusal, refusal, refusal)
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock, env={"HAVIP_WAIT_SECONDS": "3"})
    # THEN the function waits for a view that agrees, and never forces on the old one
    forces = [c.params["force"] for c in fake_vpc.calls if c.action == "UnassociateHaVip"]
    assert forces == [False]
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("pending", "stale-view")


def test_a_refusal_then_an_agreeing_view_forces_the_new_master(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN a describe two seconds behind, and keepalived promoting the standby before our call
    fake_vpc.add(pair())
    fake_vpc.lag = 2.0
    fake_vpc.race("UnassociateHaVip", lambda v: v.add(replace(v.havips[HAVIP], master_instance_id=STANDBY)))
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock)
    # THEN the forced call waits for a view that shows the standby as master
    (r,) = result["results"]
    assert (r["outcome"], r["reason"], r["force"]) == ("unassociated", "master-failed", True)
    forces = [c.params["force"] for c in fake_vpc.calls if c.action == "UnassociateHaVip"]
    assert forces == [False, True]
    assert fake_vpc.havips[HAVIP].associated_instances == (MASTER,)


def test_both_nodes_failing_in_one_batch_keep_the_last_one(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN both nodes of the pair failing, said by one batch of two CloudEvents on a bus
    fake_vpc.add(pair())
    events = [
        {"type": "havip.health", "instanceId": MASTER, "healthy": False, "id": "m"},
        {"type": "havip.health", "instanceId": STANDBY, "healthy": False, "id": "s"},
    ]
    # WHEN both arrive together as CloudEvents on a bus
    cloud = [
        {"specversion": "1.0", "id": f"e{n}", "source": "my.checker", "type": "havip.health", "data": e}
        for n, e in enumerate(events)
    ]
    result = run(json.dumps(cloud).encode(), fake_vpc, clock)
    # THEN one comes off and the other is kept as the last instance: the VIP keeps a holder
    outcomes = sorted((r["outcome"], r["reason"]) for r in result["results"])
    assert outcomes == [("skipped", "last-instance"), ("unassociated", "master-failed")]
    assert fake_vpc.havips[HAVIP].associated_instances == (STANDBY,)
    assert fake_vpc.count("UnassociateHaVip") == 1


def test_master_changed_under_never_policy_is_skipped(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    fake_vpc.race("UnassociateHaVip", lambda v: v.add(replace(v.havips[HAVIP], master_instance_id=STANDBY)))
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock, env={"HAVIP_FORCE": "never"})
    assert result["results"][0]["reason"] == "master-force-never"
    assert fake_vpc.count("UnassociateHaVip") == 1


def test_deadline_reports_pending(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN a disassociation slower than the configured wait
    fake_vpc.settle = 60
    fake_vpc.add(pair())
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock, env={"HAVIP_WAIT_SECONDS": "3"})
    (r,) = result["results"]
    assert r["outcome"] == "pending"
    assert result["ok"] is False
    assert clock.now - 1000.0 <= 3.0
    # at most one DescribeHaVips per 250 ms of waiting
    assert fake_vpc.count("DescribeHaVips") <= 1 + 3 / 0.25


def test_function_timeout_bounds_the_wait(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.settle = 60
    fake_vpc.add(pair())
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock, function=FcFunction(timeout=5))
    assert result["results"][0]["outcome"] == "pending"
    assert clock.now - 1000.0 < 5.0


def test_wait_zero_calls_and_reports_pending_without_watching(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock, env={"HAVIP_WAIT_SECONDS": "0"})
    (r,) = result["results"]
    assert (r["outcome"], r["reason"], len(r["apiRequestIds"])) == ("pending", "standby-failed", 1)
    actions = [c.action for c in fake_vpc.calls]
    assert actions[0] == "DescribeHaVips" and set(actions[1:3]) == {"ListTagResources", "DescribeInstanceStatus"}
    assert actions[3:] == ["UnassociateHaVip", "TagResources"]  # then the record on the HAVIP


def test_budget() -> None:
    assert budget_seconds(0, 60) == 10
    assert budget_seconds(0, 5) == 4.5
    assert budget_seconds(30, None) == 30
    assert budget_seconds(30, 60) == 30
    assert budget_seconds(30, 10) == 9.0
    assert budget_seconds(30, 3) == 2.5
    assert budget_seconds(30, 10, elapsed=2) == 7.0


def test_waits_for_an_unassociation_already_running(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    fake_vpc.unassociate_ha_vip(
        "cn-hangzhou", HAVIP, STANDBY, force=False, instance_type="EcsInstance", client_token="x"
    )
    fake_vpc.calls.clear()
    result = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("already-unassociated", "havip-unassociating")
    assert fake_vpc.count("UnassociateHaVip") == 0


def test_last_instance_is_kept(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    from dataclasses import replace

    fake_vpc.add(replace(pair(), associated_instances=(MASTER,)))
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock)
    assert (result["results"][0]["outcome"], result["results"][0]["reason"]) == ("skipped", "last-instance")
    assert fake_vpc.count("UnassociateHaVip") == 0


def test_missing_havip_fails_permanently(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock)
    (r,) = result["results"]
    assert (r["outcome"], r["error"]["code"]) == ("failed", "InvalidHaVipId.NotFound")


def test_bad_input_is_rejected_without_calls(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    result = run(b'{"HaVipId": "havip-x", "InstanceId": "i-abc; rm -rf /"}', fake_vpc, clock)
    assert result["ok"] is False
    assert result["error"]["code"]
    assert "InstanceId" in result["error"]["message"]
    assert fake_vpc.calls == []


def test_garbage_bytes_never_raise(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    for raw in (b"", b"\xff\xfe\x00", b"[]", b"null", b"42", b"{" * 5000):
        result = run(raw, fake_vpc, clock)
        assert result["ok"] is False and result["error"]["code"]
    assert fake_vpc.calls == []


def test_bad_configuration_names_every_problem_and_calls_nothing(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    result = run(
        manual(HaVipId=HAVIP, InstanceId=STANDBY),
        fake_vpc,
        clock,
        env={"HAVIP_FORCE": "sometimes", "HAVIP_WAIT_SECONDS": "forever"},
    )
    assert result["error"]["code"] == "InvalidConfiguration"
    assert "HAVIP_FORCE" in result["error"]["message"] and "HAVIP_WAIT_SECONDS" in result["error"]["message"]
    assert fake_vpc.calls == []


def test_http_trigger_token_is_required(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    body = json.dumps(
        {"type": "havip.health", "instanceId": STANDBY, "haVipId": HAVIP, "healthy": False, "id": "probe-http-1"}
    )
    event = {
        "version": "v1",
        "rawPath": "/",
        "headers": {"Content-Type": "application/json"},
        "queryParameters": {},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST", "path": "/"}, "requestId": "r"},
    }
    unconfigured = run(json.dumps(event).encode(), fake_vpc, clock)
    assert unconfigured["statusCode"] == 403
    missing = run(json.dumps(event).encode(), fake_vpc, clock, env={"HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN})
    assert missing["statusCode"] == 401
    event["queryParameters"] = {"token": "wrong-token-value"}
    wrong = run(json.dumps(event).encode(), fake_vpc, clock, env={"HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN})
    assert wrong["statusCode"] == 403
    assert fake_vpc.calls == []
    event["queryParameters"] = {"token": CALLBACK_TOKEN}
    good = run(json.dumps(event).encode(), fake_vpc, clock, env={"HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN})
    assert good["statusCode"] == 200
    body_out = json.loads(good["body"])
    assert body_out["results"][0]["outcome"] == "unassociated"
    assert CALLBACK_TOKEN not in good["body"]


def test_python312_context_takes_credentials_from_the_environment(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    from havip_failover.entry import credentials_from

    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "AK",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "SK",
        "ALIBABA_CLOUD_SECURITY_TOKEN": "ST",
    }
    creds = credentials_from(Fc312Context(), env)
    assert creds is not None and (creds.access_key_id, creds.access_key_secret, creds.security_token) == (
        "AK",
        "SK",
        "ST",
    )
    assert credentials_from(Fc312Context(), {}) is None


def test_python310_context_credentials_win(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    from havip_failover.entry import credentials_from
    from havip_failover.fc_context import FcCredentials

    ctx = Fc310Context(credentials=FcCredentials("CTX-AK", "CTX-SK", "CTX-ST"))
    creds = credentials_from(ctx, {"ALIBABA_CLOUD_ACCESS_KEY_ID": "ENV", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "ENV"})
    assert creds is not None and creds.access_key_id == "CTX-AK" and creds.security_token == "CTX-ST"


def test_recovery_makes_no_call(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    event = json.dumps({"type": "havip.health", "instanceId": STANDBY, "healthy": True, "id": "h1"}).encode()
    result = run(event, fake_vpc, clock)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("skipped", "recovery-signal")
    assert fake_vpc.calls == []
    assert result["ok"] is True


def test_one_canonical_line_per_decision_with_request_and_event_ids(
    fake_vpc: FakeVpc, clock: FakeClock, logs: list[dict[str, Any]]
) -> None:
    fake_vpc.add(pair(ha_vip_id="havip-mine1"))
    fake_vpc.add(pair(ha_vip_id="havip-mine2"))
    run(health(STANDBY, event_id="tok-1"), fake_vpc, clock)
    decisions = [e for e in logs if e["event"] == "havip.decision"]
    assert len(decisions) == 2
    for line in decisions:
        assert line["requestId"] == "req-fc-1"
        assert line["eventId"] == "health:tok-1"
        for key in (
            "haVipId",
            "instanceId",
            "outcome",
            "reason",
            "force",
            "statusBefore",
            "statusAfter",
            "masterBefore",
            "masterAfter",
            "apiRequestIds",
            "elapsedMs",
        ):
            assert key in line


def test_http_trigger_answers_400_for_unreadable_body_and_405_for_put(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    event = {
        "version": "v1",
        "rawPath": "/",
        "headers": {"Content-Type": "application/json"},
        "queryParameters": {"token": CALLBACK_TOKEN},
        "body": "{not json",
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST", "path": "/"}, "requestId": "r"},
    }
    env = {"HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN}
    bad = run(json.dumps(event).encode(), fake_vpc, clock, env=env)
    assert bad["statusCode"] == 400
    assert json.loads(bad["body"])["error"]["code"]
    event["requestContext"] = {"http": {"method": "PUT", "path": "/"}}
    assert run(json.dumps(event).encode(), fake_vpc, clock, env=env)["statusCode"] == 405
    assert fake_vpc.calls == []


def test_a_get_is_inspect_read_only(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    fake_vpc.ecs[MASTER] = "Stopped"
    event = {
        "version": "v1",
        "rawPath": "/",
        "headers": {"X-Havip-Token": CALLBACK_TOKEN},
        "queryParameters": {},
        "body": "",
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "GET", "path": "/"}, "requestId": "r"},
    }
    env = {"HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN, "HAVIP_IDS": HAVIP}
    response = run(json.dumps(event).encode(), fake_vpc, clock, env=env)
    body = json.loads(response["body"])
    assert response["statusCode"] == 200 and body["dryRun"] is True
    (p,) = body["pairs"]
    assert p["plan"] == [{"action": "failover", "node": MASTER, "reason": "master-stopped"}]
    assert [r["outcome"] for r in body["results"]] == ["planned"]
    assert fake_vpc.mutations() == [] and fake_vpc.count("TagResources") == 0
    wrong = run(json.dumps({**event, "headers": {"X-Havip-Token": "x" * 20}}).encode(), fake_vpc, clock, env=env)
    assert wrong["statusCode"] == 403


def http_request(body: str, content_type: str = "application/json", **query: str) -> bytes:
    return json.dumps(
        {
            "version": "v1",
            "rawPath": "/",
            "headers": {"Content-Type": content_type},
            "queryParameters": {"token": CALLBACK_TOKEN, **query},
            "body": body,
            "isBase64Encoded": False,
            "requestContext": {"http": {"method": "POST", "path": "/"}, "requestId": "r"},
        }
    ).encode()


HTTP_ENV = {"HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN}


def test_manual_order_over_http_is_403_and_changes_nothing(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN someone holding the callback token POSTs an order to take the master off
    fake_vpc.add(pair())
    response = run(
        http_request(json.dumps({"HaVipId": HAVIP, "InstanceId": MASTER, "Force": True})), fake_vpc, clock, env=HTTP_ENV
    )
    # THEN it is refused, says how to send an order, and nothing is called
    assert response["statusCode"] == 403
    error = json.loads(response["body"])["error"]
    assert error["code"] == "ManualOrderNotAllowedOverHttp" and "s invoke" in error["message"]
    assert fake_vpc.calls == []


def _availability_form(**extra: str) -> str:
    import urllib.parse

    fields = {
        "alertName": "db port",
        "alertState": "ALERT",
        "triggerLevel": "CRITICAL",
        "metricProject": "acs_networkmonitor",
        "metricName": "Availability",
        "ruleId": "rule-avail",
        "curValue": "0",
        "timestamp": str(int(time.time() * 1000)),  # now: an old alarm is not acted on
        "dimensions": f"{{instanceId={STANDBY}, userId=1234567890123456}}",
        **extra,
    }
    return urllib.parse.urlencode(fields)


def test_alarm_not_for_us_is_answered_200_ignored(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN an availability alarm whose URL names no node (its instance is the prober)
    fake_vpc.add(pair())
    response = run(
        http_request(_availability_form(), "application/x-www-form-urlencoded"), fake_vpc, clock, env=HTTP_ENV
    )
    # THEN 2xx (no CloudMonitor retries), an explanation, and no call
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert (body["ok"], body["signals"], body["results"], body["rejected"], body["error"]) == (True, [], [], [], None)
    (ignored,) = body["ignored"]
    assert ignored["code"] == "AvailabilityAlarmNamesNoNode" and "instanceId=" in ignored["message"]
    assert fake_vpc.calls == []


def test_availability_alarm_fails_over_the_node_its_url_names(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    raw = http_request(_availability_form(), "application/x-www-form-urlencoded", instanceId=MASTER, haVipId=HAVIP)
    body = json.loads(run(raw, fake_vpc, clock, env=HTTP_ENV)["body"])
    (r,) = body["results"]
    assert (r["instanceId"], r["outcome"], r["force"]) == (MASTER, "unassociated", True)
    assert fake_vpc.havips[HAVIP].associated_instances == (STANDBY,)


def test_batch_acts_on_readable_elements_and_reports_the_rest(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    good = {
        "id": "evt-1",
        "source": "acs.ecs",
        "specversion": "1.0",
        "type": "ecs:Instance:StateChange",
        "aliyunregionid": "cn-hangzhou",
        "data": {"resourceId": f"acs:ecs:cn-hangzhou:1:instance/{STANDBY}", "content": {"state": "Stopped"}},
    }
    bad = {**good, "id": "evt-2", "data": {"content": {"state": "Stopped", "resourceId": "i-x;y"}}}
    result = run(json.dumps([json.dumps(good), bad]).encode(), fake_vpc, clock)
    # THEN the standby is removed, and the unreadable element is named, making ok false
    assert [r["outcome"] for r in result["results"]] == ["unassociated"]
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [(1, "InvalidInstanceId")]
    assert (result["ok"], result["error"]) == (False, None)


def test_every_result_carries_ignored_and_rejected(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    for raw in (manual(HaVipId=HAVIP, InstanceId=STANDBY), b"{not json"):
        result = run(raw, fake_vpc, clock)
        assert (result["ignored"], result["rejected"]) == ([], [])


def test_oversized_http_request_is_413_with_the_error_in_the_body(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    from havip_failover.sources import MAX_EVENT_BYTES

    raw = http_request("x" * (MAX_EVENT_BYTES + 1), "text/plain")
    response = run(raw, fake_vpc, clock, env=HTTP_ENV)
    assert response["statusCode"] == 413
    assert json.loads(response["body"])["error"]["code"] == "EventTooLarge"
    # the same size invoked directly is a bare result
    assert run(b"[" + b" " * MAX_EVENT_BYTES + b"]", fake_vpc, clock)["error"]["code"] == "EventTooLarge"
