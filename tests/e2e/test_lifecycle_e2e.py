"""Issue 10 end to end: one FC invocation per step, each in a fresh process (`python -m
havip_failover invoke`), against the emulator that keeps state between steps. All that carries
over from one step to the next is what the cloud holds — the HAVIP's tags included — so the
record is proven durable: fail -> fence -> recover -> restore, then nothing to do, then inspect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RECORD_KEY
from tests.e2e.conftest import AK, SECRET
from vpc_emulator import EmulatorServer

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
HAVIP = "havip-bp1pair0000000001"
MUTATING = ("UnassociateHaVip", "AssociateHaVip")


def step(
    emulator: EmulatorServer, tmp_path: Path, event: dict[str, Any], *, command: str = "invoke", **env: str
) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HAVIP_", "ALIBABA_CLOUD_", "FC_"))}
    full = base | {
        "HAVIP_VPC_ENDPOINT": emulator.endpoint,
        "HAVIP_ECS_ENDPOINT": emulator.endpoint,
        "HAVIP_VPC_PROTOCOL": "http",
        "HAVIP_REGION_ID": "cn-hangzhou",
        "HAVIP_IDS": HAVIP,
        "HAVIP_FAILBACK": "standby",
        "HAVIP_FAILBACK_HOLD_SECONDS": "1",
        "HAVIP_WAIT_SECONDS": "10",
        "HAVIP_RECORD_KEY": RECORD_KEY,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": AK,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "PYTHONPATH": str(ROOT / "handler"),
        **env,
    }
    args = [sys.executable, "-m", "havip_failover", command]
    if command == "invoke":
        path = tmp_path / f"event-{uuid.uuid4().hex}.json"
        path.write_text(json.dumps(event))
        args.append(str(path))
    done = subprocess.run(args, cwd=ROOT, env=full, capture_output=True, text=True, timeout=90, check=False)
    start = done.stdout.rfind("\n{\n") + 1
    assert start > 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout[start:])
    return result


def ecs_stopped(instance: str) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "acs.ecs",
        "type": "ecs:Instance:StateChange",
        "subject": f"acs:ecs:cn-hangzhou:1234567890123456:instance/{instance}",
        "time": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "datacontenttype": "application/json;charset=utf-8",
        "aliyunaccountid": "1234567890123456",
        "aliyunregionid": "cn-hangzhou",
        "data": {
            "ver": "1.0",
            "id": str(uuid.uuid4()),
            "product": "ECS",
            "resourceId": f"acs:ecs:cn-hangzhou:1234567890123456:instance/{instance}",
            "level": "INFO",
            "name": "Instance:StateChange",
            "userId": "1234567890123456",
            "eventTime": now.strftime("%Y%m%dT%H%M%S.%f")[:-3] + "+0000",
            "regionId": "cn-hangzhou",
            "content": {"resourceId": instance, "resourceType": "ALIYUN::ECS::Instance", "state": "Stopped"},
        },
    }


TIMER = {"triggerTime": "2026-12-02T03:00:00Z", "triggerName": "reconcile", "payload": "reconcile"}


def havip(emulator: EmulatorServer) -> dict[str, Any]:
    return emulator.backend.get_havip(HAVIP)


def tags(emulator: EmulatorServer) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in (havip(emulator).get("Tags") or {}).get("Tag") or []}


def mutations(emulator: EmulatorServer) -> list[str]:
    return [
        f"{e.action}:{e.params.get('InstanceId')}" for e in emulator.journal if e.action in MUTATING and e.status == 200
    ]


def test_fail_fence_recover_restore_in_fresh_processes(emulator: EmulatorServer, tmp_path: Path) -> None:
    # 1. the master dies; ECS says so; the event fences it and the record lands on the HAVIP
    emulator.set_instance_status(MASTER, "Stopped")
    fenced = step(emulator, tmp_path, ecs_stopped(MASTER))
    (r,) = fenced["results"]
    assert (r["outcome"], r["reason"], r["force"]) == ("unassociated", "master-failed", True), fenced
    # signed entries: the removal (seen done) and the cooldown's stamp
    assert tags(emulator)[f"havip-failover:removed:{MASTER}"].startswith("v1;removed;")
    assert tags(emulator)["havip-failover:forced"].startswith("v1;")
    # 2. a reconcile while it is down: degraded, said so, nothing called
    emulator.clear_journal()
    down = step(emulator, tmp_path, TIMER)
    assert down["degraded"] == [HAVIP] and mutations(emulator) == []
    # 3. it is back: the hold starts (recorded), nothing associated yet
    emulator.set_instance_status(MASTER, "Running")
    up = step(emulator, tmp_path, TIMER)
    assert mutations(emulator) == []
    entry = tags(emulator)[f"havip-failover:removed:{MASTER}"].split(";")
    assert entry[5] != "-", up  # the time it was first seen Running again
    # 4. after the hold: re-associated as a standby, the record cleared
    time.sleep(1.2)
    restored = step(emulator, tmp_path, TIMER)
    assert [(x["outcome"], x["instanceId"]) for x in restored["results"]] == [("associated", MASTER)], restored
    assert mutations(emulator) == [f"AssociateHaVip:{MASTER}"]
    h = havip(emulator)
    assert sorted(h["AssociatedInstances"]["associatedInstance"]) == sorted([MASTER, STANDBY])
    assert h["MasterInstanceId"] == STANDBY and h["Status"] == "InUse"
    assert not [k for k in tags(emulator) if k.startswith("havip-failover:removed:")]
    # 5. nothing to do: a reconcile makes no call that changes anything
    emulator.clear_journal()
    calm = step(emulator, tmp_path, TIMER)
    assert calm["results"] == [] and calm["degraded"] == []
    assert {e.action for e in emulator.journal} <= {"DescribeHaVips", "DescribeInstanceStatus"}
    # 6. inspect: the whole pair, read-only
    seen = step(emulator, tmp_path, {}, command="inspect")
    (pair,) = seen["pairs"]
    assert pair["nodes"] == h["AssociatedInstances"]["associatedInstance"] and pair["degraded"] is False
    assert {e.action for e in emulator.journal} <= {"DescribeHaVips", "DescribeInstanceStatus", "ListTagResources"}


def test_a_missed_event_is_caught_by_the_reconciler_and_the_cooldown_holds(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    # the master died and no event came: the timer does the failover
    emulator.set_instance_status(MASTER, "Stopped")
    first = step(emulator, tmp_path, TIMER)
    (r,) = first["results"]
    assert (r["outcome"], r["instanceId"], r["force"]) == ("unassociated", MASTER, True), first
    assert r["eventId"].startswith("reconcile:")
    # the failback puts it back as standby; keepalived makes it master again; it dies again at once
    emulator.set_instance_status(MASTER, "Running")
    step(emulator, tmp_path, TIMER)
    time.sleep(1.2)
    step(emulator, tmp_path, TIMER)
    emulator.backend.set_master(HAVIP, MASTER)
    emulator.set_instance_status(MASTER, "Stopped")
    emulator.clear_journal()
    # within the cooldown: not forced again automatically, in a fresh process (the record is on the HAVIP)
    held = step(emulator, tmp_path, ecs_stopped(MASTER))
    (h,) = held["results"]
    assert (h["outcome"], h["reason"]) == ("skipped", "cooldown"), held
    assert mutations(emulator) == []
    # without it (0: off), the same event goes through
    went = step(emulator, tmp_path, ecs_stopped(MASTER), HAVIP_COOLDOWN_SECONDS="0")
    assert went["results"][0]["outcome"] == "unassociated", went
