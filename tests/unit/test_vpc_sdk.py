"""The SDK adapter sends exactly what the generated alibabacloud-vpc20160428,
alibabacloud-ecs20140526 and alibabacloud-eventbridge20200401 clients send — the same bytes on
the wire, query key order and form body included — and turns every SDK error into the project's
own terms.

Both sides talk to `Wire`, a local HTTP server that records each request as it arrived."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as GeneratedEcs
from alibabacloud_eventbridge20200401 import models as eb_models
from alibabacloud_eventbridge20200401.client import Client as GeneratedEventBridge
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models
from alibabacloud_vpc20160428.client import Client as GeneratedVpc
from darabonba.exceptions import RetryError, UnretryableException
from darabonba.policy.retry import RetryPolicyContext
from darabonba.runtime import RuntimeOptions

from havip_failover.vpc import (
    ECS_ENDPOINT_MAP,
    ENDPOINT_MAP,
    EVENTBRIDGE_ENDPOINT_MAP,
    MAX_EVENTS_PER_REQUEST,
    BusEvent,
    Credentials,
    SdkVpc,
    VpcError,
    classify,
    default_ecs_endpoint,
    default_endpoint,
    default_eventbridge_endpoint,
    havip_from_map,
    translate,
)

REGION = "cn-shanghai"
# Headers that differ between any two requests (time, nonce, and the signature over them).
VOLATILE = {"x-acs-date", "x-acs-signature-nonce", "authorization"}

Answer = Callable[[str, dict[str, str]], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Sent:
    """One request as it came off the wire."""

    method: str
    path: str
    raw_query: str  # exactly as sent: order is part of the comparison
    headers: tuple[tuple[str, str], ...]  # lowercased, VOLATILE dropped, in the order sent
    body: bytes

    @property
    def action(self) -> str:
        return dict(self.headers).get("x-acs-action", "")

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.raw_query, keep_blank_values=True)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)


def _ok(action: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    return 200, {"RequestId": f"r-{action}", "TotalCount": 0}


class Wire:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.answer: Answer = _ok
        wire = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                split = urlsplit(self.path)
                headers = tuple((k.lower(), v) for k, v in self.headers.items() if k.lower() not in VOLATILE)
                sent = Sent(self.command, split.path, split.query, headers, body)
                wire.sent.append(sent)
                status, data = wire.answer(sent.action, sent.params)
                out = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def take(self) -> list[Sent]:
        sent, self.sent = self.sent, []
        return sent

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def wire() -> Iterator[Wire]:
    w = Wire()
    yield w
    w.close()


def _config(wire: Wire, region: str = REGION) -> Config:
    return Config(access_key_id="ak", access_key_secret="sk", region_id=region, endpoint=wire.endpoint, protocol="http")


def theirs_vpc(wire: Wire) -> GeneratedVpc:
    return GeneratedVpc(_config(wire))


def theirs_ecs(wire: Wire) -> GeneratedEcs:
    return GeneratedEcs(_config(wire))


def theirs_eventbridge(wire: Wire) -> GeneratedEventBridge:
    return GeneratedEventBridge(_config(wire))


def ours(wire: Wire) -> SdkVpc:
    return SdkVpc(
        Credentials("ak", "sk"),
        endpoint=wire.endpoint,
        ecs_endpoint=wire.endpoint,
        eventbridge_endpoint=wire.endpoint,
        protocol="http",
    )


def same_request(wire: Wire, generated: Callable[[], Any], mine: Callable[[], Any]) -> Sent:
    """Run both; they must have sent one identical request each. Returns it."""
    generated()
    (expected,) = wire.take()
    mine()
    (actual,) = wire.take()
    assert actual.raw_query == expected.raw_query  # first: the clearest diff when order differs
    assert actual == expected
    return actual


# ---------------------------------------------------------------------- VPC


def test_unassociate_is_the_generated_request(wire: Wire) -> None:
    sent = same_request(
        wire,
        lambda: theirs_vpc(wire).unassociate_ha_vip_with_options(
            models.UnassociateHaVipRequest(
                region_id=REGION,
                ha_vip_id="havip-1",
                instance_id="i-1",
                force=True,
                instance_type="EcsInstance",
                client_token="tok",
            ),
            RuntimeOptions(),
        ),
        lambda: ours(wire).unassociate_ha_vip(
            REGION, "havip-1", "i-1", force=True, instance_type="EcsInstance", client_token="tok"
        ),
    )
    assert sent.action == "UnassociateHaVip"
    assert sent.params["Force"] == "True"


def test_filtered_describe_is_the_generated_request_in_its_key_order(wire: Wire) -> None:
    sent = same_request(
        wire,
        lambda: theirs_vpc(wire).describe_ha_vips_with_options(
            models.DescribeHaVipsRequest(
                region_id=REGION,
                page_number=3,
                page_size=50,
                filter=[models.DescribeHaVipsRequestFilter(key="HaVipId", value=["havip-1", "havip-2"])],
            ),
            RuntimeOptions(),
        ),
        lambda: ours(wire).describe_ha_vips(REGION, ha_vip_ids=("havip-1", "havip-2"), page_number=3, page_size=50),
    )
    # The generated client sends Filter.* first: a dict comparison would not have noticed.
    assert [k for k, _ in sent.query] == [
        "Filter.1.Key",
        "Filter.1.Value.1",
        "Filter.1.Value.2",
        "PageNumber",
        "PageSize",
        "RegionId",
    ]


def test_describe_by_tags_and_ids_is_the_generated_request(wire: Wire) -> None:
    sent = same_request(
        wire,
        lambda: theirs_vpc(wire).describe_ha_vips_with_options(
            models.DescribeHaVipsRequest(
                region_id=REGION,
                page_number=1,
                page_size=50,
                filter=[models.DescribeHaVipsRequestFilter(key="HaVipId", value=["havip-1"])],
                tags=[
                    models.DescribeHaVipsRequestTags(key="havip-failover:owner", value="fc"),
                    models.DescribeHaVipsRequestTags(key="env", value="prod"),
                ],
            ),
            RuntimeOptions(),
        ),
        lambda: ours(wire).describe_ha_vips(
            REGION, ha_vip_ids=["havip-1"], tags=[("havip-failover:owner", "fc"), ("env", "prod")]
        ),
    )
    assert sent.query[-4:] == [
        ("Tags.1.Key", "havip-failover:owner"),
        ("Tags.1.Value", "fc"),
        ("Tags.2.Key", "env"),
        ("Tags.2.Value", "prod"),
    ]


def test_unfiltered_describe_is_the_generated_request(wire: Wire) -> None:
    same_request(
        wire,
        lambda: theirs_vpc(wire).describe_ha_vips_with_options(
            models.DescribeHaVipsRequest(region_id=REGION, page_number=1, page_size=50), RuntimeOptions()
        ),
        lambda: ours(wire).describe_ha_vips(REGION),
    )


def test_associate_is_the_generated_request(wire: Wire) -> None:
    sent = same_request(
        wire,
        lambda: theirs_vpc(wire).associate_ha_vip_with_options(
            models.AssociateHaVipRequest(
                region_id=REGION,
                ha_vip_id="havip-1",
                instance_id="eni-1",
                instance_type="NetworkInterface",
                client_token="tok-a",
            ),
            RuntimeOptions(),
        ),
        lambda: ours(wire).associate_ha_vip(
            REGION, "havip-1", "eni-1", instance_type="NetworkInterface", client_token="tok-a"
        ),
    )
    assert sent.action == "AssociateHaVip"


def test_tag_resources_is_the_generated_request(wire: Wire) -> None:
    sent = same_request(
        wire,
        lambda: theirs_vpc(wire).tag_resources_with_options(
            models.TagResourcesRequest(
                region_id=REGION,
                resource_id=["havip-1"],
                resource_type="HAVIP",
                tag=[
                    models.TagResourcesRequestTag(key="havip-failover:state", value="failing-over"),
                    models.TagResourcesRequestTag(key="havip-failover:event", value="ev-1"),
                ],
            ),
            RuntimeOptions(),
        ),
        lambda: ours(wire).tag_resources(
            REGION, "havip-1", {"havip-failover:state": "failing-over", "havip-failover:event": "ev-1"}
        ),
    )
    assert sent.params["ResourceType"] == "HAVIP"
    assert sent.params["ResourceId.1"] == "havip-1"


def test_untag_resources_is_the_generated_request(wire: Wire) -> None:
    sent = same_request(
        wire,
        lambda: theirs_vpc(wire).un_tag_resources_with_options(
            models.UnTagResourcesRequest(
                region_id=REGION,
                resource_id=["havip-1"],
                resource_type="HAVIP",
                tag_key=["havip-failover:state", "havip-failover:event"],
            ),
            RuntimeOptions(),
        ),
        lambda: ours(wire).untag_resources(REGION, "havip-1", ["havip-failover:state", "havip-failover:event"]),
    )
    assert sent.params["TagKey.2"] == "havip-failover:event"
    assert "All" not in sent.params


def test_list_tag_resources_is_the_generated_request(wire: Wire) -> None:
    sent = same_request(
        wire,
        lambda: theirs_vpc(wire).list_tag_resources_with_options(
            models.ListTagResourcesRequest(
                max_results=50, region_id=REGION, resource_id=["havip-1"], resource_type="HAVIP"
            ),
            RuntimeOptions(),
        ),
        lambda: ours(wire).list_tag_resources(REGION, "havip-1"),
    )
    assert sent.action == "ListTagResources"
    assert sent.params["ResourceId.1"] == "havip-1"


def test_empty_tag_and_untag_make_no_call(wire: Wire) -> None:
    vpc = ours(wire)
    assert vpc.tag_resources(REGION, "havip-1", {}) == ""
    assert vpc.untag_resources(REGION, "havip-1", []) == ""
    assert wire.take() == []


# ---------------------------------------------------------------------- ECS


def test_describe_instance_status_is_the_generated_request(wire: Wire) -> None:
    sent = same_request(
        wire,
        lambda: theirs_ecs(wire).describe_instance_status_with_options(
            ecs_models.DescribeInstanceStatusRequest(
                region_id=REGION, instance_id=["i-1", "i-2"], page_number=1, page_size=50
            ),
            RuntimeOptions(),
        ),
        lambda: ours(wire).describe_instance_status(REGION, ["i-1", "i-2"]),
    )
    assert dict(sent.headers)["x-acs-version"] == "2014-05-26"
    assert [k for k, _ in sent.query] == ["InstanceId.1", "InstanceId.2", "PageNumber", "PageSize", "RegionId"]


def test_describe_network_interfaces_is_the_generated_request(wire: Wire) -> None:
    sent = same_request(
        wire,
        lambda: theirs_ecs(wire).describe_network_interfaces_with_options(
            ecs_models.DescribeNetworkInterfacesRequest(
                region_id=REGION, network_interface_id=["eni-1", "eni-2"], page_number=1, page_size=100
            ),
            RuntimeOptions(),
        ),
        lambda: ours(wire).describe_network_interfaces(REGION, ["eni-1", "eni-2"]),
    )
    assert sent.action == "DescribeNetworkInterfaces"


# ---------------------------------------------------------------------- EventBridge

EVENTS = [
    BusEvent(
        id="havip-failover-0123456789abcdef",
        source="havip-failover",
        type="havip-failover:HaVip:Unassociated",
        subject="havip/cn-shanghai/havip-1",
        time="2026-12-05T22:20:33Z",
        # what a result entry holds: nesting, lists, null, booleans, numbers, non-ASCII
        data={
            "haVipId": "havip-1",
            "outcome": "unassociated",
            "force": True,
            "attempts": 1,
            "error": None,
            "nodesAfter": ["i-2"],
            "survivors": {"i-2": "Running"},
            "detail": "alarm 'db down' 告警",
        },
    ),
    BusEvent(
        id="havip-failover-fedcba9876543210",
        source="havip-failover",
        type="havip-failover:Pair:Degraded",
        subject="havip/cn-shanghai/havip-1",
        time="2026-12-05T22:21:00Z",
        data={"haVipId": "havip-1", "degraded": True},
    ),
]


def _generated_events() -> list[Any]:
    return [
        eb_models.PutEventsRequestEventList(
            data=e.data,
            data_content_type=e.data_content_type,
            id=e.id,
            source=e.source,
            spec_version=e.spec_version,
            subject=e.subject,
            time=e.time,
            type=e.type,
        )
        for e in EVENTS
    ]


def _answer_put_events(action: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    return 200, {"RequestId": "r-put", "Code": "200", "Success": True, "Data": {"FailedEntryCount": 0, "EntryList": []}}


def test_put_events_is_the_generated_request(wire: Wire) -> None:
    wire.answer = _answer_put_events
    same_request(
        wire,
        lambda: theirs_eventbridge(wire).put_events_with_options(
            eb_models.PutEventsRequest(event_bus_name="havip-events", event_list=_generated_events()),
            RuntimeOptions(),
        ),
        lambda: ours(wire).put_events(REGION, "havip-events", EVENTS),
    )


def test_put_events_goes_in_a_form_body_with_the_event_list_as_json(wire: Wire) -> None:
    # What "identical" above means, spelled out: an RPC call, version 2020-04-01, nothing in
    # the query, a form body whose EventList is the events as one JSON string.
    wire.answer = _answer_put_events
    assert ours(wire).put_events(REGION, "havip-events", EVENTS) == "r-put"
    (sent,) = wire.take()
    headers = dict(sent.headers)
    assert (sent.method, sent.path, sent.raw_query) == ("POST", "/", "")
    assert (headers["x-acs-action"], headers["x-acs-version"]) == ("PutEvents", "2020-04-01")
    assert headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = dict(parse_qsl(sent.body.decode()))
    assert form["EventBusName"] == "havip-events"
    listed = json.loads(form["EventList"])
    assert [e["Id"] for e in listed] == [e.id for e in EVENTS]
    assert listed[0]["Data"] == EVENTS[0].data
    assert list(listed[0]) == ["Data", "DataContentType", "Id", "Source", "SpecVersion", "Subject", "Time", "Type"]


def test_an_event_the_bus_refused_fails_the_call(wire: Wire) -> None:
    wire.answer = lambda action, params: (
        200,
        {
            "RequestId": "r-part",
            "Code": "200",
            "Success": True,
            "Data": {
                "FailedEntryCount": 1,
                "EntryList": [
                    {"EventId": EVENTS[0].id, "TraceId": "t"},
                    {"EventId": EVENTS[1].id, "ErrorCode": "InternalError", "ErrorMessage": "try again"},
                ],
            },
        },
    )
    with pytest.raises(VpcError) as info:
        ours(wire).put_events(REGION, "havip-events", EVENTS)
    assert (info.value.code, info.value.transient, info.value.request_id) == ("InternalError", True, "r-part")
    assert "1 of 2" in info.value.message


def test_a_missing_bus_is_a_permanent_error(wire: Wire) -> None:
    wire.answer = lambda action, params: (
        404,
        {"RequestId": "r-404", "Code": "EventBusNotExist", "Message": "The event bus [nope] not existed!"},
    )
    with pytest.raises(VpcError) as info:
        ours(wire).put_events(REGION, "nope", EVENTS[:1])
    assert (info.value.code, info.value.kind, info.value.http_status) == ("EventBusNotExist", "permanent", 404)


def test_put_events_takes_at_most_a_batch_and_nothing_is_no_call(wire: Wire) -> None:
    vpc = ours(wire)
    assert vpc.put_events(REGION, "havip-events", []) == ""
    with pytest.raises(ValueError, match=str(MAX_EVENTS_PER_REQUEST)):
        vpc.put_events(REGION, "havip-events", [EVENTS[0]] * (MAX_EVENTS_PER_REQUEST + 1))
    assert wire.take() == []


def _ecs_world(statuses: dict[str, str]) -> Answer:
    """Answers DescribeInstanceStatus as ECS does: known ids only, paged."""

    def answer(action: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        asked = [v for k, v in params.items() if k.startswith("InstanceId.")]
        if len(asked) > 100:
            return 400, {"Code": "InvalidParameter", "Message": "InstanceId.N: at most 100", "RequestId": "r"}
        size, number = int(params["PageSize"]), int(params["PageNumber"])
        if size > 50:
            return 400, {"Code": "InvalidParameter", "Message": "PageSize: at most 50", "RequestId": "r"}
        known = [i for i in asked if i in statuses]
        page = known[(number - 1) * size : number * size]
        return 200, {
            "RequestId": "r",
            "TotalCount": len(known),
            "PageNumber": number,
            "PageSize": size,
            "InstanceStatuses": {"InstanceStatus": [{"InstanceId": i, "Status": statuses[i]} for i in page]},
        }

    return answer


def test_instance_status_chunks_by_100_and_pages_to_the_end(wire: Wire) -> None:
    # GIVEN 230 instances ECS knows and 20 it does not (released)
    ids = [f"i-{n:03d}" for n in range(250)]
    statuses = {i: ("Stopped" if n % 7 == 0 else "Running") for n, i in enumerate(ids) if n % 12 != 5}
    wire.answer = _ecs_world(statuses)

    # WHEN asked for all 250 (and a duplicate)
    found = ours(wire).describe_instance_status(REGION, [*ids, ids[0]])

    # THEN every known one is there, the released ones are absent
    assert found == statuses
    # AND no request named more than 100 ids or asked more than 50 a page; no id was asked twice
    sent = wire.take()
    per_call = [[v for k, v in s.query if k.startswith("InstanceId.")] for s in sent]
    assert [len(c) for c in per_call] == [100, 100, 100, 100, 50]  # two pages for each full chunk
    assert {s.params["PageSize"] for s in sent} == {"50"}
    assert sorted({i for c in per_call for i in c}) == ids


def test_instance_status_of_nothing_makes_no_call(wire: Wire) -> None:
    assert ours(wire).describe_instance_status(REGION, []) == {}
    assert wire.take() == []


def test_network_interfaces_map_to_their_instance(wire: Wire) -> None:
    wire.answer = lambda action, params: (
        200,
        {
            "RequestId": "r",
            "TotalCount": 2,
            "PageNumber": 1,
            "PageSize": 100,
            "NetworkInterfaceSets": {
                "NetworkInterfaceSet": [
                    {"NetworkInterfaceId": "eni-a", "InstanceId": "i-a", "Status": "InUse"},
                    {"NetworkInterfaceId": "eni-b", "InstanceId": "", "Status": "Available"},
                ]
            },
        },
    )
    assert ours(wire).describe_network_interfaces(REGION, ["eni-a", "eni-b", "eni-gone"]) == {
        "eni-a": "i-a",
        "eni-b": None,
    }


def test_an_ecs_ram_denial_is_an_auth_error(wire: Wire) -> None:
    wire.answer = lambda action, params: (
        403,
        {
            "RequestId": "r-403",
            "HostId": "ecs.aliyuncs.com",
            "Code": "Forbidden.RAM",
            "Message": "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        },
    )
    with pytest.raises(VpcError) as info:
        ours(wire).describe_instance_status(REGION, ["i-1"])
    assert (info.value.code, info.value.kind, info.value.http_status) == ("Forbidden.RAM", "auth", 403)
    assert info.value.request_id == "r-403"


def test_one_client_per_service_and_region(wire: Wire) -> None:
    vpc = ours(wire)
    vpc.describe_ha_vips(REGION)
    vpc.describe_ha_vips(REGION)
    vpc.describe_instance_status(REGION, ["i-1"])
    vpc.describe_instance_status("cn-beijing", ["i-1"])
    wire.answer = _answer_put_events
    vpc.put_events(REGION, "havip-events", EVENTS)
    assert sorted(vpc._clients) == [("ecs", "cn-beijing"), ("ecs", REGION), ("eventbridge", REGION), ("vpc", REGION)]


def test_the_runtime_never_imports_a_generated_client(wire: Wire) -> None:
    # The generic call is the point: the generated modules cost ~0.8 s of a cold start each.
    code = (
        "import sys; from havip_failover.vpc import Credentials, SdkVpc\n"
        f"v = SdkVpc(Credentials('ak', 'sk'), endpoint={wire.endpoint!r}, ecs_endpoint={wire.endpoint!r},"
        " protocol='http')\n"
        "v.describe_ha_vips('cn-hangzhou'); v.describe_instance_status('cn-hangzhou', ['i-1'])\n"
        "v.describe_network_interfaces('cn-hangzhou', ['eni-1'])\n"
        "from havip_failover.vpc import BusEvent\n"
        "v2 = SdkVpc(Credentials('ak', 'sk'), eventbridge_endpoint=v._ecs_endpoint, protocol='http')\n"
        "try: v2.put_events('cn-hangzhou', 'b', [BusEvent('i', 's', 't', 'j', '2026-01-01T00:00:00Z', {})])\n"
        "except Exception: pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('alibabacloud_vpc', 'alibabacloud_ecs', "
        "'alibabacloud_eventbridge'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
    assert len(wire.take()) == 4


# ---------------------------------------------------------------------- endpoints, parsing


def test_endpoint_maps_and_rules_match_the_generated_clients() -> None:
    def vpc_client(region: str) -> GeneratedVpc:
        return GeneratedVpc(Config(access_key_id="ak", access_key_secret="sk", region_id=region))

    def ecs_client(region: str) -> GeneratedEcs:
        return GeneratedEcs(Config(access_key_id="ak", access_key_secret="sk", region_id=region))

    def eventbridge_client(region: str) -> GeneratedEventBridge:
        return GeneratedEventBridge(Config(access_key_id="ak", access_key_secret="sk", region_id=region))

    assert vpc_client(REGION)._endpoint_map == ENDPOINT_MAP
    assert ecs_client(REGION)._endpoint_map == ECS_ENDPOINT_MAP
    assert eventbridge_client(REGION)._endpoint_map == EVENTBRIDGE_ENDPOINT_MAP
    for region in ("cn-hangzhou", "cn-shanghai", "ap-southeast-1", "cn-zhangjiakou-na62-a01", "cn-wuhan", "me-east-1"):
        assert vpc_client(region)._endpoint == default_endpoint(region)
        assert ecs_client(region)._endpoint == default_ecs_endpoint(region)
        assert eventbridge_client(region)._endpoint == default_eventbridge_endpoint(region)


def test_havip_tags_are_read_in_api_order() -> None:
    havip = havip_from_map(
        {
            "HaVipId": "havip-1",
            "Status": "InUse",
            "Tags": {"Tag": [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": ""}, {"Value": "no key"}]},
        }
    )
    assert havip.tags == (("b", "2"), ("a", ""))
    assert havip_from_map({"HaVipId": "havip-1", "Status": "InUse"}).tags == ()


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("exc", "code", "kind", "status"),
    [
        (
            ClientException(code="Forbidden.UnassociateMaster", message="m", status_code=400, data={"RequestId": "r"}),
            "Forbidden.UnassociateMaster",
            "permanent",
            400,
        ),
        (ClientException(code="Throttling.User", message="m", status_code=400), "Throttling.User", "transient", 400),
        (
            ThrottlingException(code="Throttling", message="m", status_code=400, retry_after=1),
            "Throttling",
            "transient",
            400,
        ),
        (ServerException(code="InternalError", message="m", status_code=500), "InternalError", "transient", 500),
        (ServerException(code="Weird", message="m", status_code=502), "Weird", "transient", 502),
        (
            ClientException(code="SignatureDoesNotMatch", message="m", status_code=400),
            "SignatureDoesNotMatch",
            "auth",
            400,
        ),
        (
            ClientException(code="InvalidAccessKeyId.NotFound", message="m", status_code=404),
            "InvalidAccessKeyId.NotFound",
            "auth",
            404,
        ),
        (ClientException(code="Forbidden.RAM", message="m", status_code=403), "Forbidden.RAM", "auth", 403),
        (
            ClientException(code="InvalidHaVipId.NotFound", message="m", status_code=404),
            "InvalidHaVipId.NotFound",
            "permanent",
            404,
        ),
    ],
)
def test_api_errors_are_classified(exc: Exception, code: str, kind: str, status: int) -> None:
    err = translate(exc)
    assert (err.code, err.kind, err.http_status) == (code, kind, status)


def test_request_id_and_the_apis_own_message_are_kept() -> None:
    exc = ClientException(
        code="ResourceNotAssociated",
        message="code: 400, The HaVip is not associated request id: r-9",
        status_code=400,
        data={"RequestId": "r-9", "Message": "The HaVip is not associated"},
    )
    err = translate(exc)
    assert (err.request_id, err.message) == ("r-9", "The HaVip is not associated")


def test_network_errors_and_timeouts_are_transient() -> None:
    dropped = UnretryableException(RetryPolicyContext(exception=RetryError("Connection aborted")))
    timeout = UnretryableException(RetryPolicyContext(exception=RetryError("Read timed out. (read timeout=0.5)")))
    assert (translate(dropped).code, translate(dropped).kind) == ("NetworkError", "transient")
    assert (translate(timeout).code, translate(timeout).kind) == ("Timeout", "transient")


def test_classify_by_status_when_the_code_is_unknown() -> None:
    assert classify("Whatever", 503) == "transient"
    assert classify("Whatever", 400) == "permanent"
    assert classify("Throttling.Something", 400) == "transient"
