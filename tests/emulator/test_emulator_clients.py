"""Real clients against the emulator, as a new user would point them at it.

Python: the official SDK (alibabacloud-vpc20160428 on tea-openapi; ACS3-HMAC-SHA256, ACS3-HMAC-SM3
and its v2 mode) and the legacy aliyun-python-sdk-core + aliyun-python-sdk-vpc (v2 HMAC-SHA1).
Node.js (tests/emulator/node, its own lockfile): @alicloud/pop-core (v2, GET and POST), the
official @alicloud/vpc20160428 (ACS3 SHA-256 and SM3) and the generic @alicloud/openapi-client
(ACS3 and v2). Every client runs the same operations; each reports errors its own way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models
from alibabacloud_vpc20160428.client import Client
from darabonba.runtime import RuntimeOptions

from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair
from vpc_emulator.models import DEFAULT_RESOURCE_GROUP_ID

from .conftest import AK, REGION, SECRET, STS_AK, STS_SECRET, STS_TOKEN

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).resolve().parent / "node"
PAIR = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
SPARES = ("havip-bp1spare000000001", "havip-bp1spare000000002")
STRING_TO_SIGN = "server string to sign is:"
V2_PROTOCOL_PARAMS = {"Signature", "SignatureNonce", "AccessKeyId", "SecurityToken", "Timestamp", "Action"}


@dataclass(frozen=True)
class Outcome:
    """One operation as the client reported it."""

    ok: bool
    body: dict[str, Any] | None = None
    code: str | None = None
    message: str = ""


Op = dict[str, Any]
Runner = Callable[[EmulatorServer, str, str, "str | None", list[Op]], list[Outcome]]


# ---------------------------------------------------------------------- Python clients


def python_official(algorithm: str | None) -> Runner:
    def run(server: EmulatorServer, ak: str, secret: str, token: str | None, ops: list[Op]) -> list[Outcome]:
        client = Client(
            Config(
                access_key_id=ak,
                access_key_secret=secret,
                security_token=token,
                endpoint=server.endpoint,
                protocol="http",
                region_id=REGION,
                signature_algorithm=algorithm,
                read_timeout=5000,
                connect_timeout=2000,
            )
        )
        out = []
        for op in ops:
            try:
                if op["op"] == "describe":
                    describe = models.DescribeHaVipsRequest(
                        region_id=REGION,
                        filter=[models.DescribeHaVipsRequestFilter(key=k, value=v) for k, v in op["filters"].items()],
                        page_number=op.get("pageNumber"),
                        page_size=op.get("pageSize"),
                    )
                    body = client.describe_ha_vips_with_options(describe, RuntimeOptions()).body.to_map()
                else:
                    unassociate = models.UnassociateHaVipRequest(
                        region_id=REGION, ha_vip_id=op["haVipId"], instance_id=op["instanceId"], force=op["force"]
                    )
                    body = client.unassociate_ha_vip_with_options(unassociate, RuntimeOptions()).body.to_map()
                out.append(Outcome(True, body))
            except ClientException as exc:
                out.append(Outcome(False, code=exc.code, message=str(exc.message)))
        return out

    return run


def python_legacy(server: EmulatorServer, ak: str, secret: str, token: str | None, ops: list[Op]) -> list[Outcome]:
    from aliyunsdkcore.acs_exception.exceptions import ClientException as LegacyClientException
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdkcore.auth.credentials import StsTokenCredential
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkvpc.request.v20160428.DescribeHaVipsRequest import DescribeHaVipsRequest
    from aliyunsdkvpc.request.v20160428.UnassociateHaVipRequest import UnassociateHaVipRequest

    if token is None:
        client = AcsClient(ak, secret, REGION, auto_retry=False, port=server.port, timeout=5)
    else:
        credential = StsTokenCredential(ak, secret, token)
        client = AcsClient(region_id=REGION, credential=credential, auto_retry=False, port=server.port, timeout=5)
    out = []
    for op in ops:
        request: Any
        if op["op"] == "describe":
            request = DescribeHaVipsRequest()
            request.set_Filters([{"Key": k, "Value": v} for k, v in op["filters"].items()])
            if "pageNumber" in op:
                request.set_PageNumber(op["pageNumber"])
            if "pageSize" in op:
                request.set_PageSize(op["pageSize"])
        else:
            request = UnassociateHaVipRequest()
            request.set_HaVipId(op["haVipId"])
            request.set_InstanceId(op["instanceId"])
            request.set_Force(op["force"])
        request.set_endpoint(server.host)
        request.set_protocol_type("http")
        try:
            out.append(Outcome(True, json.loads(client.do_action_with_exception(request))))
        except ServerException as exc:
            out.append(Outcome(False, code=exc.get_error_code(), message=exc.get_error_msg()))
        except LegacyClientException as exc:
            out.append(Outcome(False, code=exc.get_error_code(), message=exc.get_error_msg()))
    return out


# ---------------------------------------------------------------------- Node.js clients


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """tests/emulator/node installed (scripts/node_clients.sh); skip when Node.js cannot be had."""
    proc = subprocess.run(
        [str(ROOT / "scripts" / "node_clients.sh")], capture_output=True, text=True, timeout=600, check=False
    )
    if proc.returncode == 3:
        pytest.skip(f"Node.js clients not tested: {proc.stderr.strip()}")
    if proc.returncode != 0:
        pytest.fail(f"scripts/node_clients.sh failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return NODE_DIR


def node(client: str) -> Runner:
    def run(server: EmulatorServer, ak: str, secret: str, token: str | None, ops: list[Op]) -> list[Outcome]:
        node_bin = shutil.which("node")
        assert node_bin is not None
        request = {
            "client": client,
            "endpoint": server.endpoint,
            "accessKeyId": ak,
            "accessKeySecret": secret,
            "securityToken": token,
            "regionId": REGION,
            "ops": ops,
        }
        proc = subprocess.run(
            [node_bin, str(NODE_DIR / "clients.js")],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=NODE_DIR,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return [
            Outcome(True, r["body"]) if r["ok"] else Outcome(False, code=r["code"], message=r["message"])
            for r in json.loads(proc.stdout)
        ]

    return run


CLIENTS: dict[str, Runner] = {
    "python-official": python_official(None),
    "python-official-sm3": python_official("ACS3-HMAC-SM3"),
    "python-official-v2": python_official("v2"),
    "python-legacy-core": python_legacy,
    "node-pop-core-get": node("pop-core-get"),
    "node-pop-core-post": node("pop-core-post"),
    "node-vpc20160428": node("vpc20160428"),
    "node-vpc20160428-sm3": node("vpc20160428-sm3"),
    "node-openapi-client": node("openapi-client"),
    "node-openapi-client-v2": node("openapi-client-v2"),
}


# How each client signs, as the emulator's string to sign shows it.
SCHEMES = {
    "python-official": "ACS3-HMAC-SHA256\n",
    "python-official-sm3": "ACS3-HMAC-SM3\n",
    "python-official-v2": "POST&%2F&",
    "python-legacy-core": "GET&%2F&",
    "node-pop-core-get": "GET&%2F&",
    "node-pop-core-post": "POST&%2F&",
    "node-vpc20160428": "ACS3-HMAC-SHA256\n",
    "node-vpc20160428-sm3": "ACS3-HMAC-SM3\n",
    "node-openapi-client": "ACS3-HMAC-SHA256\n",
    "node-openapi-client-v2": "POST&%2F&",
}


@pytest.fixture(params=sorted(CLIENTS))
def runner(request: pytest.FixtureRequest) -> Runner:
    name = str(request.param)
    if name.startswith("node-"):
        request.getfixturevalue("node_clients")
    return CLIENTS[name]


@pytest.fixture
def client_name(runner: Runner) -> str:
    return next(name for name, r in CLIENTS.items() if r is runner)


def seed_three(backend: VpcBackend) -> None:
    backend.seed(two_node_pair(REGION))
    for hid in SPARES:
        backend.create_havip(REGION, "vpc-bp1pair000000000001", "vsw-bp1other0000000001", "192.168.2.1", hid)


# ---------------------------------------------------------------------- the tests


def test_describe_with_filters_and_paging(runner: Runner, server: EmulatorServer, backend: VpcBackend) -> None:
    # GIVEN the pair and two spare HAVIPs in another vSwitch
    seed_three(backend)
    # WHEN the client describes with filters and pages
    ops: list[Op] = [
        {"op": "describe", "filters": {"Status": ["InUse"]}},
        {"op": "describe", "filters": {"VSwitchId": ["vsw-bp1other0000000001"]}, "pageNumber": 2, "pageSize": 1},
        {"op": "describe", "filters": {"HaVipId": [PAIR, SPARES[0]]}},
        {"op": "describe", "filters": {}, "pageSize": 51},
    ]
    by_status, page_two, by_id, too_big = runner(server, AK, SECRET, None, ops)
    # THEN the filter selects, the page is the second of two, each HAVIP as the real API shows it
    assert by_status.ok and by_status.body is not None
    assert by_status.body["TotalCount"] == 1
    (pair,) = by_status.body["HaVips"]["HaVip"]
    assert pair["HaVipId"] == PAIR and pair["MasterInstanceId"] == MASTER
    assert pair["AssociatedInstances"]["associatedInstance"] == [MASTER, STANDBY]
    assert pair["ResourceGroupId"] == DEFAULT_RESOURCE_GROUP_ID
    assert page_two.ok and page_two.body is not None
    assert (page_two.body["TotalCount"], page_two.body["PageNumber"], page_two.body["PageSize"]) == (2, 2, 1)
    assert [h["HaVipId"] for h in page_two.body["HaVips"]["HaVip"]] == [SPARES[1]]
    assert by_id.ok and by_id.body is not None
    assert sorted(h["HaVipId"] for h in by_id.body["HaVips"]["HaVip"]) == [PAIR, SPARES[0]]
    # AND a bad page size is the API's error, through the client
    assert (too_big.ok, too_big.code) == (False, "InvalidParameter")
    # AND the journal holds the action's own parameters only (no v2 protocol parameters)
    entries = server.calls("DescribeHaVips")
    assert len(entries) == 4 and all(e.access_key_id == AK for e in entries)
    assert not any(V2_PROTOCOL_PARAMS & set(e.params) for e in entries)
    assert entries[1].params["Filter.1.Key"] == "VSwitchId"


def test_unassociate_standby_master_and_forced(runner: Runner, server: EmulatorServer, backend: VpcBackend) -> None:
    # GIVEN the pair, disassociation completing at once
    backend.unassociate_delay = 0.0
    backend.seed({**two_node_pair(REGION), "unassociate_delay": 0.0})
    # WHEN the client takes the master without Force, then the standby, then the master with Force
    ops: list[Op] = [
        {"op": "unassociate", "haVipId": PAIR, "instanceId": MASTER, "force": False},
        {"op": "unassociate", "haVipId": PAIR, "instanceId": STANDBY, "force": False},
        {"op": "unassociate", "haVipId": PAIR, "instanceId": MASTER, "force": True},
    ]
    master, standby, forced = runner(server, AK, SECRET, None, ops)
    # THEN the master is refused without Force, the standby and the forced master go
    assert (master.ok, master.code) == (False, "Forbidden.UnassociateMaster")
    assert standby.ok and standby.body is not None and standby.body["RequestId"]
    assert forced.ok and forced.body is not None and forced.body["RequestId"]
    havip = backend.get_havip(PAIR)
    assert (havip["Status"], havip["AssociatedInstances"]["associatedInstance"]) == ("Available", [])
    calls = server.calls("UnassociateHaVip")
    assert [(c.params["InstanceId"], c.params["Force"].lower(), c.code) for c in calls] == [
        (MASTER, "false", "Forbidden.UnassociateMaster"),
        (STANDBY, "false", None),
        (MASTER, "true", None),
    ]


def test_wrong_secret_is_the_clients_own_error(
    runner: Runner, client_name: str, server: EmulatorServer, backend: VpcBackend
) -> None:
    # GIVEN the right AccessKeyId with a wrong secret
    backend.seed(two_node_pair(REGION))
    # WHEN the client calls
    (outcome,) = runner(server, AK, "not-the-secret", None, [{"op": "describe", "filters": {}}])
    # THEN the emulator answered SignatureDoesNotMatch quoting its string to sign, and the client
    # reports it its own way: aliyun-python-sdk-core finds its own string to sign there and says
    # the secret is wrong
    assert server.journal[-1].code == "SignatureDoesNotMatch"
    assert not outcome.ok
    if client_name == "python-legacy-core":
        assert outcome.code == "InvalidAccessKeySecret"
        assert "AccessKeySecret is incorrect" in outcome.message
    else:
        assert outcome.code == "SignatureDoesNotMatch"
        assert STRING_TO_SIGN + SCHEMES[client_name] in outcome.message


def test_unknown_access_key(runner: Runner, server: EmulatorServer) -> None:
    # GIVEN an AccessKeyId the emulator does not know WHEN the client calls
    (outcome,) = runner(server, "LTAIunknown", "x", None, [{"op": "describe", "filters": {}}])
    # THEN InvalidAccessKeyId.NotFound
    assert (outcome.ok, outcome.code) == (False, "InvalidAccessKeyId.NotFound")
    assert (server.journal[-1].status, server.journal[-1].code) == (404, "InvalidAccessKeyId.NotFound")


def test_sts_token(runner: Runner, server: EmulatorServer) -> None:
    # GIVEN an STS key WHEN called with its token THEN accepted, the token not journalled
    (right,) = runner(server, STS_AK, STS_SECRET, STS_TOKEN, [{"op": "describe", "filters": {}}])
    assert right.ok, right
    assert server.journal[-1].access_key_id == STS_AK
    assert STS_TOKEN not in json.dumps(server.journal[-1].to_dict())
    # WHEN called with another token THEN refused
    (wrong,) = runner(server, STS_AK, STS_SECRET, "CAIS+other", [{"op": "describe", "filters": {}}])
    assert (wrong.ok, wrong.code) == (False, "InvalidSecurityToken.MismatchWithAccessKey")
