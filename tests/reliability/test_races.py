"""Issue 3, items 2-4 and 7: races, re-delivery, deadlines and secrets, through the FC entry,
the real SDK over real HTTP against the emulator (and, for the cross-process cases, the
FC entry in separate processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from havip_failover.samples import retime
from tests.reliability._harness import (
    AK,
    CALLBACK_TOKEN,
    HAVIP,
    MASTER,
    RECORD_KEY,
    REGION,
    ROOT,
    SECRET,
    STANDBY,
    STS_TOKEN,
    Recorder,
    assert_no_secret,
    manual,
    scenario,
)
from vpc_emulator import Fault, VpcBackend

pytestmark = pytest.mark.e2e
RECORD = Recorder("races")
# Retimed once: each is one incident, re-delivered as the same bytes.
ALARM = retime((ROOT / "events" / "cloudmonitor-alarm-master.json").read_bytes())
STOPPED = retime((ROOT / "events" / "eventbridge-ecs-stopped-standby.json").read_bytes())


@pytest.fixture(scope="module", autouse=True)
def _write_figures() -> Iterator[None]:
    yield
    RECORD.write()


def note(case: str, expected: str, observed: str, **extra: Any) -> None:
    RECORD.add(case=case, expected=expected, observed=observed, **extra)


def someone_else_removes(instance: str) -> Any:
    def mutate(backend: VpcBackend) -> None:
        backend.unassociate_ha_vip("req-other", region_id=REGION, ha_vip_id=HAVIP, instance_id=instance, force="True")
        backend.settle()

    return mutate


# ---- races ---------------------------------------------------------------------------


def test_master_promoted_between_describe_and_call_is_retried_with_force(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the standby fails, and keepalived promotes it just before our call arrives
    with scenario() as sc:
        sc.server.inject(Fault(action="UnassociateHaVip", code=None, mutate=lambda b: b.set_master(HAVIP, STANDBY)))
        run = sc.invoke(STOPPED)
        # THEN the API refuses (it is the master now), we look again and retry with Force
        calls = sc.server.calls("UnassociateHaVip")
        assert [(e.code, e.params["Force"]) for e in calls] == [
            ("Forbidden.UnassociateMaster", "False"),
            (None, "True"),
        ]
        assert calls[1].havip_before is not None and calls[1].havip_before["MasterInstanceId"] == STANDBY
        assert len({e.client_token for e in calls}) == 1
        r = run.only
        assert (r["outcome"], r["reason"], r["force"]) == ("unassociated", "master-failed", True)
        assert sc.associated() == [MASTER]
    note("master promoted between describe and call", "retry with Force", f"{r['outcome']}, force={r['force']}")
    assert_no_secret(capsys.readouterr().out, json.dumps(run.result))


def test_master_promoted_under_never_policy_is_left_alone() -> None:
    with scenario() as sc:
        sc.server.inject(Fault(action="UnassociateHaVip", code=None, mutate=lambda b: b.set_master(HAVIP, STANDBY)))
        run = sc.invoke(STOPPED, HAVIP_FORCE="never")
        r = run.only
        assert (r["outcome"], r["reason"]) == ("skipped", "master-force-never")
        assert len(sc.server.calls("UnassociateHaVip")) == 1
        assert sorted(sc.associated()) == sorted([MASTER, STANDBY])
    note("master promoted, HAVIP_FORCE=never", "skipped, no Force", f"{r['outcome']} ({r['reason']})")


def test_havip_deleted_before_the_call() -> None:
    with scenario() as sc:
        sc.server.inject(Fault(action="UnassociateHaVip", code=None, mutate=lambda b: b.delete_havip(HAVIP)))
        run = sc.invoke(manual(HaVipId=HAVIP, InstanceId=MASTER))
        r = run.only
        assert r["outcome"] == "failed"
        assert r["error"]["code"] == "InvalidHaVipId.NotFound" and r["error"]["retryable"] is False
        assert len(sc.server.calls("UnassociateHaVip")) == 1  # permanent: no retry
    note("HAVIP deleted before our call", "failed, permanent", f"{r['outcome']} ({r['error']['code']})")


def test_havip_deleted_while_we_wait() -> None:
    with scenario(unassociate_delay=1.0) as sc:
        sc.server.inject(Fault(action="DescribeHaVips", code=None, after=1, mutate=lambda b: b.delete_havip(HAVIP)))
        run = sc.invoke(manual(HaVipId=HAVIP, InstanceId=MASTER))
        r = run.only
        assert r["outcome"] == "failed"
        assert "disappeared" in r["error"]["message"]
        assert len(sc.server.calls("UnassociateHaVip")) == 1
    note("HAVIP deleted while we wait for completion", "failed, says it disappeared", r["outcome"])


def test_instance_removed_by_someone_else_before_the_call() -> None:
    with scenario() as sc:
        sc.server.inject(Fault(action="UnassociateHaVip", code=None, mutate=someone_else_removes(MASTER)))
        run = sc.invoke(manual(HaVipId=HAVIP, InstanceId=MASTER))
        r = run.only
        assert (r["outcome"], r["reason"]) == ("already-unassociated", "not-associated")
        assert [e.code for e in sc.server.calls("UnassociateHaVip")] == ["ResourceNotAssociated"]
        assert run.result["ok"] is True
    note("instance disassociated by someone else before our call", "already-unassociated", r["outcome"])


def test_instance_removed_by_someone_else_while_we_wait() -> None:
    # GIVEN someone else's disassociation is running when we look: we wait, then report it
    with scenario(unassociate_delay=0.6) as sc:
        sc.server.backend.unassociate_ha_vip(
            "req-other", region_id=REGION, ha_vip_id=HAVIP, instance_id=MASTER, force="True"
        )
        run = sc.invoke(manual(HaVipId=HAVIP, InstanceId=MASTER))
        r = run.only
        assert (r["outcome"], r["reason"]) == ("already-unassociated", "havip-unassociating")
        assert sc.server.calls("UnassociateHaVip") == []
    note("someone else's disassociation in progress", "wait, then already-unassociated", r["outcome"])


# The events are retimed once above; both processes must see the same bytes (one incident).
CLI = [sys.executable, "-m", "havip_failover", "invoke"]


def _child_env(endpoint: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HAVIP_", "ALIBABA_CLOUD_", "FC_"))}
    return base | {
        "PYTHONPATH": str(ROOT / "handler"),
        "HAVIP_VPC_ENDPOINT": endpoint,
        "HAVIP_ECS_ENDPOINT": endpoint,
        "HAVIP_VPC_PROTOCOL": "http",
        "HAVIP_REGION_ID": REGION,
        "HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN,
        "HAVIP_RECORD_KEY": RECORD_KEY,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": AK,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": STS_TOKEN,
    }


def _result_of(stdout: str) -> dict[str, Any]:
    response: dict[str, Any] = json.loads(stdout[stdout.rfind("\n{\n") + 1 :])
    body: dict[str, Any] = json.loads(response["body"]) if "statusCode" in response else response
    return body


def test_two_processes_same_incident_one_disassociation(tmp_path: Path) -> None:
    # GIVEN FC running two instances on the same alarm at the same moment
    with scenario(unassociate_delay=0.5) as sc:
        event = tmp_path / "alarm.json"
        event.write_bytes(ALARM)
        procs = [
            subprocess.Popen(
                [*CLI, str(event), "--keep-times"],
                env=_child_env(sc.server.endpoint),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=60) for p in procs]
        results = [_result_of(out) for out, _ in outs]
        # THEN exactly one disassociation happened
        done = [t for t in sc.server.backend.transitions if t[2] == "unassociate"]
        assert len(done) == 1
        assert sc.associated() == [STANDBY]
        # AND both say truthfully that the master is off, with the same ClientToken
        outcomes = sorted(r["results"][0]["outcome"] for r in results)
        assert set(outcomes) <= {"unassociated", "already-unassociated"}
        assert len({r["results"][0]["clientToken"] for r in results}) == 1
        accepted = [e for e in sc.server.calls("UnassociateHaVip") if e.code is None]
        assert len({e.request_id for e in accepted}) == 1  # a second call, if any, was the same request
        for out, err in outs:
            assert_no_secret(out, err)
    note(
        "two processes, same incident, at once",
        "one disassociation, both truthful",
        ", ".join(outcomes),
        transitions=len(done),
    )


# ---- re-delivery -----------------------------------------------------------------------


def test_redelivery_in_the_same_warm_process() -> None:
    with scenario() as sc:
        first = sc.invoke(ALARM)
        second = sc.invoke(ALARM)
        assert first.only["outcome"] == "unassociated"
        # the alarm names no HAVIP: the second delivery finds the master on none
        assert (second.only["outcome"], second.only["reason"]) == ("already-unassociated", "no-havip-holds-instance")
        assert len(sc.server.calls("UnassociateHaVip")) == 1
    note("same alarm re-delivered, warm process", "no second call", second.only["outcome"])


def test_redelivery_naming_the_havip_keeps_the_client_token() -> None:
    # GIVEN a retry of an event naming the HAVIP whose first call's answer was lost
    with scenario() as sc:
        event = manual(HaVipId=HAVIP, InstanceId=MASTER)
        sc.server.inject(Fault(action="UnassociateHaVip", code=None, drop=True, times=-1))
        first = sc.invoke(event, request_id="fc-req-1", HAVIP_WAIT_SECONDS="1")
        sc.server.clear_faults()
        second = sc.invoke(event, request_id="fc-req-1")  # FC's retry of the same invocation
        tokens = {e.client_token for e in sc.server.calls("UnassociateHaVip")}
        assert first.only["outcome"] == "failed" and second.only["outcome"] == "unassociated"
        assert tokens == {first.only["clientToken"]} == {second.only["clientToken"]}
    note("re-delivery after lost answers", "the same ClientToken on every call", f"{len(tokens)} token")


def test_eventbridge_duplicate_id_in_a_fresh_process(tmp_path: Path) -> None:
    with scenario() as sc:
        event = tmp_path / "stopped.json"
        event.write_bytes(STOPPED)
        outs = []
        for _ in range(2):  # a fresh interpreter each time, as a new FC instance
            done = subprocess.run(
                [*CLI, str(event), "--keep-times"],
                env=_child_env(sc.server.endpoint),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            outs.append(_result_of(done.stdout))
        assert [o["results"][0]["outcome"] for o in outs] == ["unassociated", "already-unassociated"]
        assert outs[0]["results"][0]["clientToken"] == outs[1]["results"][0]["clientToken"] or (
            outs[1]["results"][0]["haVipId"] is None  # found on no HAVIP: no token needed
        )
        assert len(sc.server.calls("UnassociateHaVip")) == 1
    note("EventBridge duplicate id, fresh process", "same ClientToken, no second call", "already-unassociated")


def test_duplicate_while_the_first_is_still_running_reuses_the_token() -> None:
    # GIVEN the first delivery's call accepted but its answer lost (client timeout): the
    # re-delivery must send the same ClientToken, so the API does the work only once
    with scenario(unassociate_delay=0.4) as sc:
        sc.server.inject(Fault(action="UnassociateHaVip", code=None, latency=0.9, times=1))
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(lambda _: sc.invoke(ALARM), range(2)))
        tokens = {e.client_token for e in sc.server.calls("UnassociateHaVip")}
        assert len(tokens) == 1
        assert len([t for t in sc.server.backend.transitions if t[2] == "unassociate"]) == 1
        assert {r.only["outcome"] for r in runs} <= {"unassociated", "already-unassociated"}


def test_storm_of_100_identical_alarms_one_call() -> None:
    with scenario() as sc:
        outcomes = [sc.invoke(ALARM).only["outcome"] for _ in range(100)]
        assert outcomes.count("unassociated") == 1
        assert outcomes.count("already-unassociated") == 99
        assert len(sc.server.calls("UnassociateHaVip")) == 1
    note("100 deliveries of the same alarm, warm", "exactly one UnassociateHaVip", "1 call, 99 already-unassociated")


def test_concurrent_storm_of_identical_alarms_one_disassociation() -> None:
    with scenario(unassociate_delay=0.3) as sc:
        with ThreadPoolExecutor(max_workers=10) as pool:
            runs = list(pool.map(lambda _: sc.invoke(ALARM), range(30)))
        assert {r.only["outcome"] for r in runs} <= {"unassociated", "already-unassociated"}
        assert [r.only["outcome"] for r in runs].count("unassociated") == 1
        assert len([t for t in sc.server.backend.transitions if t[2] == "unassociate"]) == 1
        # one driver per incident in a process: the others wait for it, then find it done
        calls = len(sc.server.calls("UnassociateHaVip"))
        assert calls == 1
    note("30 concurrent deliveries of the same alarm", "exactly one UnassociateHaVip", f"{calls} call")


# ---- deadlines -------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [2, 3, 5])
def test_short_function_timeout_returns_pending_before_it(timeout: int) -> None:
    # GIVEN a disassociation slower than the function's timeout
    with scenario(unassociate_delay=30.0) as sc:
        run = sc.invoke(manual(HaVipId=HAVIP, InstanceId=MASTER), timeout=timeout)
        # THEN pending, returned before FC would kill the function
        assert run.only["outcome"] == "pending"
        assert run.elapsed < timeout
    note(
        f"function timeout {timeout}s, 30s disassociation",
        "pending before the timeout",
        f"pending after {run.elapsed:.2f}s",
    )


@pytest.mark.parametrize(
    "fault",
    [
        Fault(code=None, hang=5.0, times=-1),
        Fault(code=None, latency=4.0, times=-1),
        Fault(code="Throttling.User", times=-1),
        Fault(code=None, drop=True, times=-1),
    ],
    ids=["hang", "slow", "throttled", "dropped"],
)
def test_never_overruns_the_function_timeout_whatever_the_faults(fault: Fault) -> None:
    with scenario() as sc:
        sc.server.inject(fault)
        run = sc.invoke(manual(HaVipId=HAVIP, InstanceId=MASTER), timeout=3)
        assert run.elapsed < 3.0
        assert run.only["outcome"] in ("failed", "pending")
        assert run.result["ok"] is False


# ---- security -------------------------------------------------------------------------


def test_bad_signature_is_a_permanent_auth_failure_not_a_retry_loop(capsys: pytest.CaptureFixture[str]) -> None:
    with scenario() as sc:
        from havip_failover.entry import invoke
        from havip_failover.fc_context import Fc310Context, FcCredentials

        wrong = "a-wrong-secret-value-123"
        result = invoke(
            manual(HaVipId=HAVIP, InstanceId=MASTER),
            Fc310Context(credentials=FcCredentials(AK, wrong, STS_TOKEN)),
            env={
                **sc.env,
                "HAVIP_VPC_ENDPOINT": sc.server.endpoint,
                "HAVIP_ECS_ENDPOINT": sc.server.endpoint,
                "HAVIP_VPC_PROTOCOL": "http",
            },
        )
        (r,) = result["results"]
        assert (r["outcome"], r["error"]["code"], r["error"]["retryable"]) == ("failed", "SignatureDoesNotMatch", False)
        assert len(sc.server.journal) == 1
        out = capsys.readouterr().out
        assert wrong not in out and wrong not in json.dumps(result)
    note("wrong AccessKey secret", "permanent auth failure, one call", f"{r['outcome']} ({r['error']['code']})")


def test_callback_token_is_required_and_never_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    with scenario() as sc:
        event = json.loads(ALARM)
        event["queryParameters"] = {"token": CALLBACK_TOKEN[:-1] + "X"}
        from havip_failover.entry import invoke
        from havip_failover.fc_context import Fc312Context

        env = {
            **sc.env,
            "HAVIP_VPC_ENDPOINT": sc.server.endpoint,
            "HAVIP_ECS_ENDPOINT": sc.server.endpoint,
            "HAVIP_VPC_PROTOCOL": "http",
        }
        wrong = invoke(json.dumps(event).encode(), Fc312Context(), env=env)
        unset = invoke(ALARM, Fc312Context(), env={k: v for k, v in env.items() if k != "HAVIP_CALLBACK_TOKEN"})
        assert (wrong["statusCode"], unset["statusCode"]) == (403, 403)
        assert sc.server.journal == []
        out = capsys.readouterr().out + json.dumps([wrong, unset])
        assert CALLBACK_TOKEN not in out and CALLBACK_TOKEN[:-1] + "X" not in out
