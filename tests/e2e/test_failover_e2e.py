"""The real SDK over real HTTP against the local VPC emulator, through the FC entry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from havip_failover.fc_context import FcCredentials
from tests.conftest import event_bytes, manual
from tests.e2e.conftest import AK, Invoke
from vpc_emulator import EmulatorServer, Fault, two_node_pair

pytestmark = pytest.mark.e2e

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
HAVIP = "havip-bp1pair0000000001"


def body(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"]) if "statusCode" in response else response


def test_master_failure_forces_it_off(emulator: EmulatorServer, fc: Invoke) -> None:
    # GIVEN the pair, WHEN CloudMonitor reports the master down through the HTTP trigger
    response = fc(event_bytes("cloudmonitor-alarm-master.json"))
    # THEN the master is disassociated with Force and the standby carries the VIP
    assert response["statusCode"] == 200
    result = body(response)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"], r["force"]) == ("unassociated", "master-failed", True)
    havip = emulator.backend.get_havip(HAVIP)
    assert havip["AssociatedInstances"]["associatedInstance"] == [STANDBY]
    assert havip["MasterInstanceId"] == STANDBY
    (call,) = emulator.calls("UnassociateHaVip")
    assert call.params["Force"] == "True" and call.params["InstanceId"] == MASTER
    assert call.client_token == r["clientToken"]
    assert r["apiRequestIds"] == [call.request_id]


def test_standby_failure_removes_it_without_force(emulator: EmulatorServer, fc: Invoke) -> None:
    result = fc(event_bytes("eventbridge-ecs-stopped-standby.json"))
    (r,) = result["results"]
    assert (r["outcome"], r["force"]) == ("unassociated", False)
    (call,) = emulator.calls("UnassociateHaVip")
    assert call.params["Force"] == "False"
    assert emulator.backend.get_havip(HAVIP)["MasterInstanceId"] == MASTER


def test_eni_pair_uses_network_interface_type(emulator: EmulatorServer, fc: Invoke) -> None:
    emulator.backend.reset()
    emulator.backend.seed(
        {
            "regions": {
                "cn-hangzhou": {
                    "instances": [
                        {"id": "i-bp1eniholder0000001", "vswitch": "vsw-1"},
                        {"id": "i-bp1eniholder0000002", "vswitch": "vsw-1"},
                        # each ENI attached to a Running instance: the survivor check reads them
                        {"id": "eni-bp1mastereni0001", "vswitch": "vsw-1", "instance": "i-bp1eniholder0000001"},
                        {"id": "eni-bp1standbyeni0001", "vswitch": "vsw-1", "instance": "i-bp1eniholder0000002"},
                    ],
                    "havips": [
                        {
                            "id": HAVIP,
                            "vpc": "vpc-1",
                            "vswitch": "vsw-1",
                            "ip": "192.168.1.100",
                            "instances": ["eni-bp1mastereni0001", "eni-bp1standbyeni0001"],
                            "master": "eni-bp1mastereni0001",
                            "instance_type": "NetworkInterface",
                            "status": "InUse",
                        }
                    ],
                }
            }
        }
    )
    result = fc(event_bytes("manual-eni.json"))
    (r,) = result["results"]
    assert r["outcome"] == "unassociated", r
    (call,) = emulator.calls("UnassociateHaVip")
    assert call.params["InstanceType"] == "NetworkInterface"


def test_recovery_makes_no_call(emulator: EmulatorServer, fc: Invoke) -> None:
    result = fc(event_bytes("eventbridge-ecs-running-recovery.json"))
    assert [r["outcome"] for r in result["results"]] == ["skipped"]
    assert emulator.journal == []


def test_dry_run_makes_no_mutating_call(emulator: EmulatorServer, fc: Invoke) -> None:
    result = fc(event_bytes("manual-master.json"), extra_env={"HAVIP_DRY_RUN": "true"})
    (r,) = result["results"]
    assert (r["outcome"], r["force"]) == ("planned", True)
    # only reads: the HAVIP, and ECS for the survivor check
    assert {e.action for e in emulator.journal} == {"DescribeHaVips", "ListTagResources", "DescribeInstanceStatus"}
    assert MASTER in emulator.backend.get_havip(HAVIP)["AssociatedInstances"]["associatedInstance"]


def test_discovery_across_several_pages(emulator: EmulatorServer, fc: Invoke) -> None:
    # GIVEN 120 other HAVIPs created before the pair's
    backend = emulator.backend
    backend.reset()
    backend.add_instance("i-bp1other000000001", "cn-hangzhou", "vsw-2")
    for n in range(120):
        backend.create_havip("cn-hangzhou", "vpc-2", "vsw-2", f"10.0.{n // 200}.{n % 200 + 1}")
    for region, content in two_node_pair()["regions"].items():
        for inst in content["instances"]:
            backend.add_instance(inst["id"], region, inst["vswitch"])
        h = content["havips"][0]
        created = backend.create_havip(region, h["vpc"], h["vswitch"], h["ip"], ha_vip_id=h["id"])
        assert created
        backend.associate_now(h["id"], MASTER, master=True)
        backend.associate_now(h["id"], STANDBY)
    # WHEN the standby's health check fails, naming no HAVIP
    event = {"type": "havip.health", "instanceId": STANDBY, "healthy": False, "consecutiveFailures": 3, "id": "p1"}
    result = fc(json.dumps(event).encode())
    # THEN all three pages were read and the pair found
    assert [r["haVipId"] for r in result["results"]] == [HAVIP]
    pages = [e.params.get("PageNumber") for e in emulator.calls("DescribeHaVips") if "Filter.1.Key" not in e.params]
    assert pages == ["1", "2", "3"]


def test_wrong_signature_is_a_permanent_auth_failure(emulator: EmulatorServer, fc: Invoke) -> None:
    result = fc(event_bytes("manual-master.json"), credentials=FcCredentials(AK, "not-the-secret"))
    (r,) = result["results"]
    assert r["outcome"] == "failed"
    assert r["error"]["code"] == "SignatureDoesNotMatch"
    assert r["error"]["retryable"] is False
    assert len(emulator.journal) == 1  # no retry loop
    assert "not-the-secret" not in json.dumps(result)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("Throttling.User", 400),
        ("Throttling", 400),
        ("Throttling.Api", 400),
        ("ServiceUnavailable", 503),
        ("InternalError", 500),
        ("OperationConflict", 400),
        ("IncorrectInstanceStatus", 400),
        ("OperationFailed.QueryNetworkInterfaceInfo", 400),
        ("SystemBusy", 400),
        ("LastTokenProcessing", 400),
        ("OperationFailed.DistibuteLock", 400),
    ],
)
def test_each_transient_code_is_retried_with_the_same_token(
    emulator: EmulatorServer, fc: Invoke, code: str, status: int
) -> None:
    emulator.inject(Fault(action="UnassociateHaVip", code=code, http_status=status, times=2))
    result = fc(event_bytes("manual-master.json"))
    (r,) = result["results"]
    assert r["outcome"] == "unassociated", r
    calls = emulator.calls("UnassociateHaVip")
    assert [c.code for c in calls] == [code, code, None]
    assert {c.client_token for c in calls} == {r["clientToken"]}
    assert r["attempts"] == 3


def test_dropped_connection_is_retried(emulator: EmulatorServer, fc: Invoke) -> None:
    emulator.inject(Fault(action="UnassociateHaVip", code=None, drop=True, times=1))
    result = fc(event_bytes("manual-master.json"))
    assert result["results"][0]["outcome"] == "unassociated"


def test_resource_not_associated_is_done(emulator: EmulatorServer, fc: Invoke) -> None:
    # GIVEN someone else removed the master between our describe and our call
    emulator.inject(Fault(action="UnassociateHaVip", code="ResourceNotAssociated", http_status=400, times=1))
    result = fc(event_bytes("manual-master.json"))
    (r,) = result["results"]
    assert r["outcome"] == "already-unassociated"
    assert result["ok"] is True


def test_waits_for_unassociating_to_finish(emulator: EmulatorServer, fc: Invoke) -> None:
    emulator.backend.unassociate_delay = 1.0
    result = fc(event_bytes("manual-master.json"))
    (r,) = result["results"]
    assert r["outcome"] == "unassociated" and r["statusAfter"] == "InUse"
    assert r["elapsedMs"] >= 1000
    describes = emulator.calls("DescribeHaVips")
    waited = describes[-1].time - emulator.calls("UnassociateHaVip")[0].time
    assert len(describes) - 1 <= waited / 0.25 + 1  # at most one describe per 250 ms of waiting


def test_deadline_reports_pending(emulator: EmulatorServer, fc: Invoke) -> None:
    emulator.backend.unassociate_delay = 30.0
    result = fc(event_bytes("manual-master.json"), extra_env={"HAVIP_WAIT_SECONDS": "1.5"})
    (r,) = result["results"]
    assert r["outcome"] == "pending"
    assert r["elapsedMs"] < 2500
    assert result["ok"] is False


def test_python312_runtime_with_sts_credentials(emulator: EmulatorServer, fc312: Invoke) -> None:
    result = fc312(event_bytes("manual-master.json"))
    assert result["results"][0]["outcome"] == "unassociated"
    assert {e.access_key_id for e in emulator.journal} == {"STS.emulatorKey"}


def test_no_secret_in_logs_or_results(
    emulator: EmulatorServer, fc312: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    result = fc312(event_bytes("cloudmonitor-alarm-master.json"))
    out = capsys.readouterr().out + json.dumps(result)
    for secret in ("sts-emulator-secret", "CAIS-emulator-sts-token-value", "demo-callback-token"):
        assert secret not in out
    assert "havip.decision" in out


def test_manual_without_havip_is_rejected_before_any_call(emulator: EmulatorServer, fc: Invoke) -> None:
    result = fc(manual(InstanceId=MASTER, HavipId=HAVIP))
    assert result["ok"] is False and result["error"]["code"]
    assert emulator.journal == []
    assert AK  # the fixture's key is what the emulator knows


def test_fan_out_shares_one_describe_per_poll(emulator: EmulatorServer, fc: Invoke) -> None:
    # GIVEN the failed standby on 8 HAVIPs, each disassociation taking 1 s
    backend = emulator.backend
    backend.reset()
    backend.add_instance(MASTER, "cn-hangzhou", "vsw-1")
    backend.add_instance(STANDBY, "cn-hangzhou", "vsw-1")
    for n in range(8):
        hid = backend.create_havip("cn-hangzhou", "vpc-1", "vsw-1", f"192.168.1.{n + 10}")
        backend.associate_now(hid, MASTER, master=True)
        backend.associate_now(hid, STANDBY)
    backend.unassociate_delay = 1.0
    # WHEN its health check fails (no HAVIP named: discovery)
    event = {"type": "havip.health", "instanceId": STANDBY, "healthy": False, "id": "fan-out"}
    result = fc(json.dumps(event).encode())
    # THEN all 8 are done, and the waiting cost about one DescribeHaVips per poll, not eight
    assert [r["outcome"] for r in result["results"]] == ["unassociated"] * 8
    calls = emulator.calls("UnassociateHaVip")
    describes = [e for e in emulator.calls("DescribeHaVips") if e.time > calls[0].time]
    waited = describes[-1].time - calls[0].time
    assert len(describes) <= waited / 0.25 + 3, (len(describes), waited)
