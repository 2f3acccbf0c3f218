"""The emulator's EventBridge: PutEvents as the real SDK sends it, the buses that exist, what
each received (GET /_emulator/events), EventBridge's limits, and its errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from havip_failover.vpc import BusEvent, Credentials, SdkVpc, VpcError
from tests.emulator.conftest import AK, SECRET
from tests.emulator.test_emulator_server import admin
from vpc_emulator import EmulatorServer, Fault, VpcBackend

BUS = "havip-failover"


def event(n: int = 0, **changes: Any) -> BusEvent:
    fields: dict[str, Any] = {
        "id": f"havip-failover-{n:04d}",
        "source": "havip-failover",
        "type": "havip-failover:HaVip:Unassociated",
        "subject": "havip/cn-hangzhou/havip-1",
        "time": "2026-12-05T22:20:33Z",
        "data": {"n": n},
        **changes,
    }
    return BusEvent(**fields)


@pytest.fixture
def sdk(server: EmulatorServer) -> SdkVpc:
    return SdkVpc(Credentials(AK, SECRET), eventbridge_endpoint=server.endpoint, protocol="http")


def test_put_events_lands_on_the_bus_and_the_admin_api_shows_it(
    server: EmulatorServer, backend: VpcBackend, sdk: SdkVpc
) -> None:
    status, buses = admin(server, "POST", f"buses/{BUS}")
    assert (status, buses) == (200, [BUS])
    request_id = sdk.put_events("cn-hangzhou", BUS, [event(1), event(2)])
    status, seen = admin(server, "GET", f"events?bus={BUS}")
    assert status == 200 and [e["event"]["Id"] for e in seen] == ["havip-failover-0001", "havip-failover-0002"]
    assert {e["requestId"] for e in seen} == {request_id} and seen[0]["event"]["Data"] == {"n": 1}
    assert admin(server, "DELETE", "events") == (200, [])
    assert backend.received_events(BUS) == []


def test_a_bus_that_does_not_exist(server: EmulatorServer, sdk: SdkVpc) -> None:
    with pytest.raises(VpcError) as info:
        sdk.put_events("cn-hangzhou", "nope", [event()])
    assert (info.value.code, info.value.http_status, info.value.kind) == ("EventBusNotExist", 404, "permanent")
    assert "[nope]" in info.value.message


@pytest.mark.parametrize(
    ("events", "says"),
    [
        ([event(n) for n in range(17)], "at most 16 events"),
        ([event(type="t" * 65)], "Type: at most 64"),
        ([event(subject="s" * 513)], "Subject: at most 512"),
        ([event(id="no_underscores")], "Id: letters, digits and hyphens"),
        ([event(data={"big": "x" * 256 * 1024})], "exceeds 256 KB"),
    ],
)
def test_eventbridges_limits_are_kept(backend: VpcBackend, events: list[BusEvent], says: str) -> None:
    backend.create_event_bus(BUS)
    listed = json.dumps([e.to_api() for e in events])
    with pytest.raises(Exception) as info:
        backend.put_events("r", BUS, listed)
    assert getattr(info.value, "code", None) == "InvalidParameter" and says in str(info.value)


def test_faults_and_ram_denials_reach_put_events(server: EmulatorServer, sdk: SdkVpc) -> None:
    server.backend.create_event_bus(BUS)
    server.inject(Fault(action="PutEvents", code="Throttling.User"))
    with pytest.raises(VpcError) as throttled:
        sdk.put_events("cn-hangzhou", BUS, [event()])
    assert throttled.value.transient
    server.deny("PutEvents")
    with pytest.raises(VpcError) as denied:
        sdk.put_events("cn-hangzhou", BUS, [event()])
    assert (denied.value.code, denied.value.kind) == ("Forbidden.RAM", "auth")
    (call,) = [c for c in server.calls("PutEvents") if c.code == "Forbidden.RAM"]
    assert call.status == 403


def test_a_bus_is_a_custom_bus_name(backend: VpcBackend) -> None:
    for bad in ("default", "eventbridge-reserved-x", "a_b", ""):
        with pytest.raises(ValueError):
            backend.create_event_bus(bad)


def test_buses_survive_a_snapshot_and_go_with_a_reset(backend: VpcBackend) -> None:
    backend.create_event_bus(BUS)
    copy = VpcBackend()
    copy.seed(backend.snapshot())
    assert copy.event_buses() == [BUS]
    backend.reset()
    assert backend.event_buses() == [] and "event_buses" not in backend.snapshot()
