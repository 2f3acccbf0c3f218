"""The server around the API: journal, admin HTTP API, robustness, the command line."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException

from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair

from .conftest import AK, SECRET, ClientFactory, Vpc

ROOT = Path(__file__).resolve().parents[2]
HAVIP = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"


def admin(server: EmulatorServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        payload = b"" if body is None else json.dumps(body).encode()
        conn.request(method, f"/_emulator/{path}", body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_journal_records_every_api_call(server: EmulatorServer, backend: VpcBackend, vpc: Any) -> None:
    # GIVEN a pair
    backend.seed(two_node_pair())

    # WHEN a describe, a refused and an accepted unassociation are made
    request_id = vpc.describe(filters={"HaVipId": [HAVIP]}).request_id
    with pytest.raises(ClientException):
        vpc.unassociate(ha_vip_id=HAVIP, instance_id=MASTER, force=False, client_token="tok-1")
    vpc.unassociate(ha_vip_id=HAVIP, instance_id=MASTER, force=True, client_token="tok-1")

    # THEN the journal holds each with its parameters, outcome and RequestId
    first, refused, accepted = server.journal
    assert first.action == "DescribeHaVips" and first.status == 200 and first.code is None
    assert first.request_id == request_id
    assert first.params == {"RegionId": "cn-hangzhou", "Filter.1.Key": "HaVipId", "Filter.1.Value.1": HAVIP}
    assert (refused.status, refused.code, refused.client_token) == (400, "Forbidden.UnassociateMaster", "tok-1")
    assert refused.params["Force"] == "False"
    assert accepted.params["Force"] == "True" and accepted.status == 200
    assert first.time <= refused.time <= accepted.time
    assert [e.action for e in server.calls("UnassociateHaVip")] == ["UnassociateHaVip"] * 2
    # AND clear_journal empties it
    server.clear_journal()
    assert server.journal == []


def test_admin_api_round_trip(server: EmulatorServer, vpc: Any) -> None:
    # GIVEN an emulator reset over HTTP to the pair scenario
    status, state = admin(server, "POST", "reset", two_node_pair())
    assert status == 200
    assert state["regions"]["cn-hangzhou"]["havips"][0]["master"] == MASTER

    # WHEN an instance is stopped and a fault injected through the admin API
    status, inst = admin(server, "POST", f"instances/{STANDBY}", {"status": "Stopping"})
    assert (status, inst["status"]) == (200, "Stopping")
    status, faults = admin(server, "POST", "faults", [{"action": "DescribeHaVips", "code": "SystemBusy"}])
    assert status == 200 and faults[0]["code"] == "SystemBusy"

    # THEN the SDK sees both
    with pytest.raises(Exception) as info:
        vpc.describe()
    assert getattr(info.value, "code", None) == "SystemBusy"
    with pytest.raises(Exception) as info:
        vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY)
    assert getattr(info.value, "code", None) == "IncorrectInstanceStatus"
    # AND the journal and state are readable over HTTP
    status, journal = admin(server, "GET", "journal")
    assert [(e["action"], e["code"]) for e in journal] == [
        ("DescribeHaVips", "SystemBusy"),
        ("UnassociateHaVip", "IncorrectInstanceStatus"),
    ]
    status, state = admin(server, "GET", "state")
    assert state["regions"]["cn-hangzhou"]["havips"][0]["status"] == "InUse"
    # AND faults can be listed and deleted, and an empty reset empties everything
    admin(server, "POST", "faults", {"code": "Throttling", "times": -1})
    assert admin(server, "DELETE", "faults") == (200, [])
    assert admin(server, "GET", "faults") == (200, [])
    status, state = admin(server, "POST", "reset")
    assert state["regions"] == {}
    assert admin(server, "GET", "journal") == (200, [])
    # AND bad admin requests are answered, not crashed on
    assert admin(server, "POST", "faults", [{"bogus": 1}])[0] == 400
    assert admin(server, "POST", "instances/i-nothere", {"status": "Stopped"})[0] == 404
    assert admin(server, "GET", "nothing")[0] == 404


def test_snapshot_seed_round_trip(backend: VpcBackend) -> None:
    # GIVEN a pair with an unassociation in progress
    backend.seed(two_node_pair())
    backend.unassociate_delay = 30.0
    backend.unassociate_ha_vip("rid", region_id="cn-hangzhou", ha_vip_id=HAVIP, instance_id=STANDBY, client_token=None)
    snapshot = backend.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot

    # WHEN it seeds a new backend
    other = VpcBackend()
    other.seed(snapshot)

    # THEN the state is the same, pending transition included
    again = other.snapshot()
    assert again["regions"]["cn-hangzhou"]["havips"][0]["pending"]["op"] == "unassociate"
    assert other.get_havip(HAVIP) == backend.get_havip(HAVIP)
    other.settle()
    assert other.get_havip(HAVIP)["AssociatedInstances"]["associatedInstance"] == [MASTER]


def test_handler_bug_answers_internal_error(
    server: EmulatorServer, backend: VpcBackend, vpc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a backend that raises an unexpected exception
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(backend, "describe_ha_vips", boom)

    # WHEN called THEN a 500 InternalError in the API's error body
    with pytest.raises(ServerException) as info:
        vpc.describe()
    assert (info.value.code, info.value.status_code) == ("InternalError", 500)
    # AND the server keeps serving
    monkeypatch.undo()
    assert vpc.describe().total_count == 0


def test_keep_alive_connection_is_reused(server: EmulatorServer, make_client: ClientFactory) -> None:
    # GIVEN one SDK client
    vpc = Vpc(make_client())
    # WHEN it calls many times
    for _ in range(5):
        vpc.describe()
    # THEN the server holds a single connection for all of them
    assert server._httpd is not None
    assert len(server._httpd.open_connections) == 1


def test_command_line_runs_the_pair_scenario(tmp_path: Path) -> None:
    # GIVEN the emulator started from the command line with the pair scenario
    port_file = tmp_path / "port"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vpc_emulator", "--scenario", "pair", "--port-file", str(port_file)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        # THEN it prints one line with its URL and AccessKeyId, never the secret
        assert line.startswith("VPC emulator listening on http://127.0.0.1:")
        assert line.endswith(f"(AccessKeyId {AK})")
        assert SECRET not in line
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        assert port_file.read_text().strip() == str(port)

        # WHEN the SDK calls it THEN it answers with the pair
        from alibabacloud_tea_openapi.utils_models import Config
        from alibabacloud_vpc20160428.client import Client

        client = Client(
            Config(
                access_key_id=AK,
                access_key_secret=SECRET,
                endpoint=f"127.0.0.1:{port}",
                protocol="http",
                region_id="cn-hangzhou",
                read_timeout=3000,
            )
        )
        body = Vpc(client).describe()
        assert body.ha_vips.ha_vip[0].master_instance_id == MASTER
    finally:
        # AND it stops cleanly on SIGTERM
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert SECRET not in out + err


def test_command_line_seed_file_and_custom_key(tmp_path: Path) -> None:
    # GIVEN a seed file and a custom AccessKey
    seed = {
        "regions": {"cn-shanghai": {"havips": [{"id": "havip-seeded", "vswitch": "vsw-s", "ip": "10.1.0.5"}]}},
        "unassociate_delay": 0.01,
        "latency": 0,
    }
    (tmp_path / "seed.json").write_text(json.dumps(seed))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vpc_emulator",
            "--seed",
            str(tmp_path / "seed.json"),
            "--access-key-id",
            "LTAIcustom",
            "--access-key-secret",
            "custom-secret-value",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        # THEN the line names the custom key and not its secret
        assert line.endswith("(AccessKeyId LTAIcustom)") and "custom-secret-value" not in line
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        # AND the admin API shows the seeded state
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/_emulator/state")
        state = json.loads(conn.getresponse().read())
        conn.close()
        assert state["regions"]["cn-shanghai"]["havips"][0]["status"] == "Available"
        assert state["unassociate_delay"] == 0.01
    finally:
        # AND SIGINT stops it cleanly
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "custom-secret-value" not in out + err


def test_max_instances_per_havip_is_configurable(server: EmulatorServer, backend: VpcBackend, vpc: Vpc) -> None:
    # GIVEN the pair (2 instances, the default limit) and a third instance in its vSwitch
    backend.seed(two_node_pair())
    backend.add_instance("i-bp1third0000000001", "cn-hangzhou", "vsw-bp1pair000000000001")
    # WHEN a third is associated under the default THEN the real limit error
    with pytest.raises(ClientException) as info:
        vpc.associate(ha_vip_id=HAVIP, instance_id="i-bp1third0000000001")
    assert info.value.code == "CountLimitExceeded.HaVipOnECSInstance"
    # WHEN the admin API reseeds with max_instances 10 THEN the third one is taken
    status, state = admin(server, "POST", "reset", {**two_node_pair(), "max_instances": 10, "unassociate_delay": 0})
    assert (status, state["max_instances"]) == (200, 10)
    backend.add_instance("i-bp1third0000000001", "cn-hangzhou", "vsw-bp1pair000000000001")
    vpc.associate(ha_vip_id=HAVIP, instance_id="i-bp1third0000000001")
    backend.settle()
    assert len(backend.get_havip(HAVIP)["AssociatedInstances"]["associatedInstance"]) == 3
    # AND out-of-range limits are refused
    for bad in (0, 11, "3"):
        status, body = admin(server, "POST", "reset", {"max_instances": bad})
        assert status == 400 and "max_instances" in body["error"]


def test_command_line_max_instances(tmp_path: Path) -> None:
    from vpc_emulator.__main__ import build_parser, main

    # GIVEN the flag within 1..10 THEN parsed; outside THEN a usage error, before any server starts
    assert build_parser().parse_args(["--max-instances", "10"]).max_instances == 10
    with pytest.raises(SystemExit) as info:
        main(["--max-instances", "11"])
    assert info.value.code == 2
