"""Issue 10's benchmark: one reconcile of 1, 10 and 50 managed HAVIPs — time and API calls.

A reconcile must cost a handful of paged DescribeHaVips and one DescribeInstanceStatus per 100
nodes, not calls per HAVIP. The baseline, measured in the same run against the same emulator
(same API latency), is the per-HAVIP loop a script would write: for each HAVIP one
DescribeHaVips (filtered by its id) and one DescribeInstanceStatus of its nodes, with the same
SDK client. Every pair is healthy, so neither makes a call that changes anything.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from bench.common import AK, REGION, SECRET, fc_context, function_env, quiet, stat
from vpc_emulator import EmulatorServer

SIZES = (1, 10, 50)
TIMER = json.dumps({"triggerTime": "2026-12-02T03:00:00Z", "triggerName": "reconcile", "payload": "reconcile"}).encode()
API_LATENCY = 0.03  # s per request: a VPC endpoint seen from FC in the same region


def seed(n: int) -> tuple[dict[str, Any], list[str]]:
    vsw = "vsw-bp1reconcile000001"
    instances: list[dict[str, Any]] = []
    havips: list[dict[str, Any]] = []
    for k in range(n):
        a, b = f"i-bp1recA{k:011d}", f"i-bp1recB{k:011d}"
        instances += [{"id": a, "vswitch": vsw, "status": "Running"}, {"id": b, "vswitch": vsw, "status": "Running"}]
        havips.append(
            {
                "id": f"havip-bp1rec{k:011d}",
                "vswitch": vsw,
                "ip": f"192.168.{9 + k // 200}.{10 + k % 200}",
                "instances": [a, b],
                "master": a,
                "tags": {"ha-pair": "managed"},
            }
        )
    return {"regions": {REGION: {"instances": instances, "havips": havips}}}, [h["id"] for h in havips]


def _ours(server: EmulatorServer, ids: list[str], by: str) -> float:
    from havip_failover.entry import invoke

    env = function_env(server.endpoint)
    env["HAVIP_IDS" if by == "ids" else "HAVIP_TAG"] = ",".join(ids) if by == "ids" else "ha-pair=managed"
    t0 = time.perf_counter()
    with quiet():
        result = invoke(TIMER, fc_context(), env=env)
    elapsed = time.perf_counter() - t0
    if result["results"] or result["degraded"] or len(result["pairs"]) != len(ids):
        raise RuntimeError(f"reconcile of healthy pairs did something: {result}")
    return elapsed


def _per_havip(server: EmulatorServer, ids: list[str]) -> float:
    from alibabacloud_ecs20140526 import models as ecs_models
    from alibabacloud_ecs20140526.client import Client as EcsClient
    from alibabacloud_tea_openapi import models as open_api_models
    from alibabacloud_vpc20160428 import models as vpc_models
    from alibabacloud_vpc20160428.client import Client as VpcClient

    config = {"access_key_id": AK, "access_key_secret": SECRET, "region_id": REGION, "protocol": "http"}
    vpc = VpcClient(open_api_models.Config(endpoint=server.endpoint, **config))
    ecs = EcsClient(open_api_models.Config(endpoint=server.endpoint, **config))
    t0 = time.perf_counter()
    for hid in ids:
        body = vpc.describe_ha_vips(
            vpc_models.DescribeHaVipsRequest(
                region_id=REGION, filter=[vpc_models.DescribeHaVipsRequestFilter(key="HaVipId", value=[hid])]
            )
        ).body
        nodes = body.ha_vips.ha_vip[0].associated_instances.associated_instance
        ecs.describe_instance_status(ecs_models.DescribeInstanceStatusRequest(region_id=REGION, instance_id=nodes))
    return time.perf_counter() - t0


def bench_reconcile(server: EmulatorServer, runs: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for n in SIZES:
        data, ids = seed(n)
        server.reset(data)
        server.backend.latency = API_LATENCY
        _ours(server, ids, "ids")  # warm: the SDK client and imports, as a warm FC instance has them
        row: dict[str, Any] = {"havips": n, "nodes": 2 * n}
        for by in ("ids", "tag"):
            times = []
            for _ in range(runs):
                server.clear_journal()
                times.append(_ours(server, ids, by))
            calls = Counter(e.action for e in server.journal)
            row[by] = {"seconds": stat(times).__dict__, "calls": dict(sorted(calls.items()))}
        _per_havip(server, ids)
        base = []
        for _ in range(runs):
            server.clear_journal()
            base.append(_per_havip(server, ids))
        row["per_havip"] = {
            "seconds": stat(base).__dict__,
            "calls": dict(sorted(Counter(e.action for e in server.journal).items())),
        }
        row["ratio"] = stat(base).median and row["ids"]["seconds"]["median"] / stat(base).median
        rows.append(row)
    server.backend.latency = 0.0
    return {"api_latency_s": API_LATENCY, "runs": runs, "rows": rows}


def render(r: dict[str, Any]) -> list[str]:
    lines = [
        "## Reconcile: 1, 10 and 50 managed HAVIPs",
        "",
        f"One reconcile of healthy pairs (FC's timer event through the entry, a warm instance), against the "
        f"emulator answering each request after {r['api_latency_s'] * 1000:.0f} ms; baseline: the per-HAVIP loop "
        "(one DescribeHaVips and one DescribeInstanceStatus per HAVIP, same SDK, same emulator). "
        f"Medians of {r['runs']} runs.",
        "",
        "| HAVIPs | nodes | by HAVIP_IDS | its calls | by HAVIP_TAG | its calls | per-HAVIP loop | its calls "
        "| ours / loop |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:

        def calls(c: dict[str, int]) -> str:
            return ", ".join(f"{v} {k}" for k, v in c.items())

        lines.append(
            f"| {row['havips']} | {row['nodes']} | {row['ids']['seconds']['median'] * 1000:.0f} ms | "
            f"{calls(row['ids']['calls'])} | {row['tag']['seconds']['median'] * 1000:.0f} ms | "
            f"{calls(row['tag']['calls'])} | "
            f"{row['per_havip']['seconds']['median'] * 1000:.0f} ms | {calls(row['per_havip']['calls'])} | "
            f"{row['ratio']:.2f}× |"
        )
    lines += [
        "",
        "DescribeHaVips reads 50 HAVIPs a page and one more page while pages come back full; "
        "DescribeInstanceStatus takes up to 100 ids a call and answers 50 a page: 100 nodes are two pages.",
        "",
    ]
    return lines
