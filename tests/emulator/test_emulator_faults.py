"""Fault injection seen through the real SDK: error codes, counts, latency, drops, hangs."""

from __future__ import annotations

import time
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ClientException, ServerException

from vpc_emulator import EmulatorServer, Fault, VpcBackend, two_node_pair

from .conftest import ClientFactory, Vpc

HAVIP = "havip-bp1pair0000000001"
STANDBY = "i-bp1standby00000001"


def test_error_once_then_normal(server: EmulatorServer, backend: VpcBackend, vpc: Any) -> None:
    # GIVEN one throttling fault on UnassociateHaVip
    backend.seed(two_node_pair())
    server.inject(Fault(action="UnassociateHaVip", code="Throttling.User", http_status=400))

    # WHEN DescribeHaVips is called THEN it is not affected
    assert vpc.describe().total_count == 1
    # WHEN UnassociateHaVip is called twice
    with pytest.raises(ClientException) as info:
        vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY)
    # THEN the first gets the fault (a plain ClientException, not ThrottlingException)
    assert type(info.value) is ClientException
    assert (info.value.code, info.value.status_code) == ("Throttling.User", 400)
    assert info.value.data["RequestId"]
    # AND the second goes through
    assert vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY)
    assert [e.code for e in server.calls("UnassociateHaVip")] == ["Throttling.User", None]


def test_server_error_forever_until_cleared(server: EmulatorServer, vpc: Any) -> None:
    # GIVEN a 503 on every action, forever
    server.inject(Fault(code="ServiceUnavailable", http_status=503, times=-1))

    # WHEN called three times THEN three ServerExceptions
    for _ in range(3):
        with pytest.raises(ServerException) as info:
            vpc.describe()
        assert (info.value.code, info.value.status_code) == ("ServiceUnavailable", 503)
    # WHEN the faults are cleared THEN calls succeed
    server.clear_faults()
    assert vpc.describe().total_count == 0


def test_faults_for_one_action_are_consumed_in_order(server: EmulatorServer, vpc: Any) -> None:
    # GIVEN two faults queued for DescribeHaVips
    server.inject(Fault(action="DescribeHaVips", code="InternalError", http_status=500))
    server.inject(Fault(action="DescribeHaVips", code="Throttling", times=2))

    # WHEN called four times
    codes: list[str | None] = []
    for _ in range(4):
        try:
            vpc.describe()
            codes.append(None)
        except AlibabaCloudException as exc:
            codes.append(exc.code)

    # THEN the faults come in order, then the real answer
    assert codes == ["InternalError", "Throttling", "Throttling", None]


def test_latency_only_fault_and_global_latency(server: EmulatorServer, backend: VpcBackend, vpc: Any) -> None:
    # GIVEN a latency-only fault of 0.3 s
    server.inject(Fault(code=None, latency=0.3))

    # WHEN called THEN the answer is normal but late
    start = time.monotonic()
    assert vpc.describe().total_count == 0
    assert time.monotonic() - start >= 0.3
    # AND the next call is fast again
    start = time.monotonic()
    vpc.describe()
    assert time.monotonic() - start < 0.2

    # GIVEN a global latency WHEN called THEN every answer is late
    backend.latency = 0.2
    start = time.monotonic()
    vpc.describe()
    assert time.monotonic() - start >= 0.2


def test_dropped_connection_is_a_network_error(server: EmulatorServer, vpc: Any) -> None:
    # GIVEN a warm keep-alive connection and a drop fault
    vpc.describe()
    server.inject(Fault(action="DescribeHaVips", drop=True))

    # WHEN called
    with pytest.raises(Exception) as info:
        vpc.describe()

    # THEN the SDK raises a network error, not an API error
    assert not isinstance(info.value, AlibabaCloudException)
    assert type(info.value).__name__ == "UnretryableException"
    assert server.journal[-1].status == 0 and server.journal[-1].code == "ConnectionDropped"
    # AND the next call works on a new connection
    assert vpc.describe().total_count == 0


def test_hang_hits_the_sdk_read_timeout(server: EmulatorServer, make_client: ClientFactory) -> None:
    # GIVEN a hang of 2 s and a client with a 300 ms read timeout
    server.inject(Fault(hang=2.0))
    vpc = Vpc(make_client(read_timeout=300))

    # WHEN called
    start = time.monotonic()
    with pytest.raises(Exception) as info:
        vpc.describe()

    # THEN the SDK gives up after its read timeout with a non-API error
    assert time.monotonic() - start < 1.5
    assert not isinstance(info.value, AlibabaCloudException)
    assert "timed out" in str(info.value).lower() or "timeout" in repr(info.value).lower()
    # AND the server still answers others meanwhile
    assert vpc.describe().total_count == 0


def test_fault_after_spares_the_first_requests_then_mutates_state(
    server: EmulatorServer, backend: VpcBackend, vpc: Any
) -> None:
    # GIVEN a fault that spares one describe, then changes the state before the second
    backend.seed(two_node_pair())
    seen: list[int] = []
    server.inject(Fault(action="DescribeHaVips", code=None, after=1, mutate=lambda b: seen.append(len(b.havip_ids()))))
    # WHEN two describes are made
    vpc.describe()
    assert seen == []
    vpc.describe()
    # THEN the mutation ran once, on the second, and both were answered
    assert seen == [1]
    assert [e.code for e in server.calls("DescribeHaVips")] == [None, None]


def test_journal_records_the_havip_as_the_unassociate_call_found_it(
    server: EmulatorServer, backend: VpcBackend, vpc: Any
) -> None:
    backend.seed(two_node_pair())
    vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY)
    (entry,) = server.calls("UnassociateHaVip")
    assert entry.havip_before is not None
    assert entry.havip_before["MasterInstanceId"] == "i-bp1master000000001"
    assert STANDBY in entry.havip_before["AssociatedInstances"]["associatedInstance"]
