"""Scenarios as plain data: the ids of one scenario, an HA pair's HAVIPs (`HavipSpec`), one
event (`EventSpec`, built into the bytes the FC entry receives, in the shapes of events/),
and a whole property-based example (`Case`: the world, the event, the configuration and
the fault schedule, seeded into the emulator in a region of its own)."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from havip_failover.samples import retime
from tests.reliability._gen_base import CALLBACK_TOKEN, RECORD_KEY, RUN_STARTED, STS_AK, STS_SECRET, STS_TOKEN
from tests.reliability._gen_faults import FaultSpec, MutationLog
from vpc_emulator import EmulatorServer

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
            "HAVIP_RECORD_KEY": RECORD_KEY,
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
