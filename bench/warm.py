"""Benchmarks of a warm instance: our handler called in-process (the SDK client and its
connection pool kept, as on a warm FC instance), the naive handler called the same way.

Every loop is bounded in count and in time; the emulator listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.common import (
    AK,
    CALLBACK_TOKEN,
    HAVIP,
    MASTER,
    OTHER,
    REGION,
    SECRET,
    STANDBY,
    calls,
    event_file,
    fanout_seed,
    fc_context,
    first_time,
    fresh,
    function_env,
    havip_done,
    load_naive,
    manual_event,
    pair_seed,
    quiet,
    stat,
    unassociate_due,
)
from havip_failover.entry import invoke
from tests.fakes import FakeClock, FakeVpc, pair
from vpc_emulator import EmulatorServer, JournalEntry

POLL_BUDGET = 60.0  # s: the longest any "poll until done" loop may run
ALARM = "cloudmonitor-alarm-master.json"


@dataclass(frozen=True)
class Params:
    """What a run measures with; --smoke scales the slow parts down (its numbers mean nothing)."""

    runs: int
    confirm_latency: float = 0.05
    confirm_delay: float = 2.0
    naive_poll: float = 5.0  # the fixed polling interval "common tools" use
    fanout_sizes: tuple[int, ...] = (1, 4, 8)
    fanout_latency: float = 0.1
    fanout_delay: float = 0.2
    warm_fake_events: int = 2000
    warm_fake_seconds: float = 10.0
    warm_sdk_events: int = 500
    warm_sdk_seconds: float = 15.0
    storm_deliveries: int = 100
    storm_threads: int = 100
    storm_latency: float = 0.05
    storm_delay: float = 2.0


def full(runs: int) -> Params:
    return Params(runs=runs)


def smoke() -> Params:
    return Params(
        runs=1,
        confirm_latency=0.01,
        confirm_delay=0.3,
        fanout_latency=0.02,
        naive_poll=0.5,
        warm_fake_events=100,
        warm_fake_seconds=2.0,
        warm_sdk_events=10,
        warm_sdk_seconds=3.0,
        storm_threads=20,
        storm_latency=0.0,
        storm_delay=0.3,
    )


class Ours:
    """Our function on a warm instance: the FC entry with the function's environment."""

    def __init__(self, server: EmulatorServer) -> None:
        self.env = function_env(server.endpoint)

    def __call__(self, event: bytes) -> Any:
        with quiet():
            return self.raw(event)

    def raw(self, event: bytes) -> Any:
        """Without redirecting stdout (which is process-wide): for threads inside one quiet()."""
        return invoke(event, fc_context(), env=self.env)


def _body(response: Any) -> dict[str, Any]:
    if isinstance(response, dict) and "statusCode" in response:
        parsed: dict[str, Any] = json.loads(response["body"])
        return parsed
    if not isinstance(response, dict):
        raise TypeError(f"unexpected result {response!r}")
    return response


def outcomes(response: Any) -> list[str]:
    return [str(r["outcome"]) for r in _body(response)["results"]]


def _naive_client(server: EmulatorServer) -> Any:
    """The client of the user's own polling loop (built once: the kindest assumption)."""
    from alibabacloud_tea_openapi import models as open_api_models
    from alibabacloud_vpc20160428.client import Client

    return Client(
        open_api_models.Config(
            access_key_id=AK,
            access_key_secret=SECRET,
            region_id=REGION,
            endpoint=server.endpoint,
            protocol="http",
        )
    )


def _naive_done(client: Any, ha_vip_id: str, instance_id: str) -> bool:
    from alibabacloud_vpc20160428 import models as vpc_models

    body = client.describe_ha_vips(
        vpc_models.DescribeHaVipsRequest(
            region_id=REGION, filter=[vpc_models.DescribeHaVipsRequestFilter(key="HaVipId", value=[ha_vip_id])]
        )
    ).body
    havip = body.ha_vips.ha_vip[0]
    return bool(instance_id not in havip.associated_instances.associated_instance and havip.status != "Unassociating")


def _naive_poll_until_done(client: Any, pending: list[str], instance_id: str, interval: float) -> float:
    """Fixed-interval polling, as a user's script around the naive handler does; returns when all are done."""
    deadline = time.monotonic() + POLL_BUDGET
    left = list(pending)
    while left:
        if time.monotonic() + interval > deadline:
            raise RuntimeError(f"naive polling: {left} still not done after {POLL_BUDGET} s")
        time.sleep(interval)
        left = [h for h in left if not _naive_done(client, h, instance_id)]
    return time.monotonic()


# ---------------------------------------------------------------------------- confirmed failover


def bench_confirmed(server: EmulatorServer, p: Params) -> dict[str, Any]:
    ours = Ours(server)
    naive = load_naive()
    client = _naive_client(server)
    # warm both: SDK imported, our client and connection pool built
    fresh(server, pair_seed(), latency=0.0, delay=0.05)
    ours(manual_event(client_token="bench-warmup"))  # noqa: S106 - an idempotency key
    fresh(server, pair_seed(), latency=0.0, delay=0.05)
    naive.handler(manual_event(), None)

    rows: dict[str, list[dict[str, float]]] = {"ours": [], "naive": []}
    for i in range(p.runs):
        # A fixed 2.0 s would always fall on our 250 ms poll cadence (a lag of a few ms):
        # the runs spread the end over the whole cadence instead, the same for both sides.
        delay = p.confirm_delay + (i % 4) * 0.0625
        fresh(server, pair_seed(), latency=p.confirm_latency, delay=delay)
        t0 = time.monotonic()
        response = ours(manual_event(client_token=f"bench-confirm-{i}"))
        t_end = time.monotonic()
        if outcomes(response) != ["unassociated"]:
            raise RuntimeError(f"our handler did not confirm the failover: {response!r}")
        rows["ours"].append(_confirm_row(server, t0, t_end))

        fresh(server, pair_seed(), latency=p.confirm_latency, delay=delay)
        t0 = time.monotonic()
        result = naive.handler(manual_event(), None)
        t_returned = time.monotonic()
        if not result.get("RequestId"):
            raise RuntimeError(f"the naive handler did not disassociate: {result!r}")
        t_end = _naive_poll_until_done(client, [HAVIP], MASTER, p.naive_poll)
        row = _confirm_row(server, t0, t_end)
        row["returned_s"] = t_returned - t0
        rows["naive"].append(row)
    out: dict[str, Any] = {
        "runs": p.runs,
        "emulator": {"latency_s": p.confirm_latency, "unassociate_delay_s": p.confirm_delay},
        "naive_poll_interval_s": p.naive_poll,
    }
    for name, samples in rows.items():
        out[name] = {key: stat([r[key] for r in samples]).to_dict() for key in samples[0]}
    out["ratios"] = {
        "confirmed": out["ours"]["confirmed_s"]["median"] / out["naive"]["confirmed_s"]["median"],
        "lag": out["ours"]["lag_s"]["median"] / out["naive"]["lag_s"]["median"],
    }
    return out


def _confirm_row(server: EmulatorServer, t0: float, t_end: float) -> dict[str, float]:
    journal = server.journal
    due = unassociate_due(server.backend, HAVIP)
    t_call = first_time(journal, "UnassociateHaVip")
    if due is None or t_call is None:
        raise RuntimeError("the emulator recorded no disassociation")
    waiting = t_end - t_call
    polls = calls(journal, "DescribeHaVips", since=t_call, until=t_end)
    return {
        "confirmed_s": t_end - t0,
        "lag_s": t_end - due,
        "to_unassociate_s": t_call - t0,
        "describes_total": float(calls(journal, "DescribeHaVips", until=t_end)),
        "describes_while_waiting": float(polls),
        "describes_per_250ms": polls * 0.25 / waiting if waiting > 0 else 0.0,
    }


# ---------------------------------------------------------------------------- fan-out


FAILED = "i-bp1failed000000001"


def _per_250ms(journal: list[JournalEntry], t_end: float) -> float:
    """DescribeHaVips per 250 ms of waiting, the whole invocation (every HAVIP) together."""
    t_call = first_time(journal, "UnassociateHaVip")
    if t_call is None or t_end <= t_call:
        return 0.0
    return calls(journal, "DescribeHaVips", since=t_call, until=t_end) * 0.25 / (t_end - t_call)


def _fanout_once(
    server: EmulatorServer, n: int, tag: str, *, latency: float, delay: float, poll: float
) -> tuple[dict[str, float], dict[str, float]]:
    """One failed node on `n` HAVIPs: ours (one discovery event), then naive (one call per HAVIP + polling)."""
    ours = Ours(server)
    naive = load_naive()
    client = _naive_client(server)
    seed, ids = fanout_seed(n, FAILED)
    fresh(server, seed, latency=latency, delay=delay)
    event = json.dumps({"type": "havip.health", "instanceId": FAILED, "healthy": False, "id": f"bench-{tag}"}).encode()
    t0 = time.monotonic()
    response = ours(event)
    t_end = time.monotonic()
    got = outcomes(response)
    if got != ["unassociated"] * n or not all(havip_done(server.backend, h, FAILED) for h in ids):
        raise RuntimeError(f"fan-out of {n}: {got}")
    journal = server.journal
    ours_row = {
        "all_unassociated_s": t_end - t0,
        "describes": float(calls(journal, "DescribeHaVips")),
        "unassociates": float(calls(journal, "UnassociateHaVip")),
        "describes_per_250ms": _per_250ms(journal, t_end),
    }

    fresh(server, seed, latency=latency, delay=delay)
    t0 = time.monotonic()
    for k, hid in enumerate(ids):
        result = naive.handler(manual_event(FAILED, hid, client_token=f"{tag}-{k}"), None)
        if not result.get("RequestId"):
            raise RuntimeError(f"naive fan-out: {result!r}")
    t_returned = time.monotonic()
    t_end = _naive_poll_until_done(client, ids, FAILED, poll)
    journal = server.journal
    naive_row = {
        "all_returned_s": t_returned - t0,
        "all_unassociated_s": t_end - t0,
        "describes": float(calls(journal, "DescribeHaVips")),
        "unassociates": float(calls(journal, "UnassociateHaVip")),
        "describes_per_250ms": _per_250ms(journal, t_end),
    }
    return ours_row, naive_row


def _summarise(rows: list[tuple[dict[str, float], dict[str, float]]]) -> dict[str, Any]:
    return {
        name: {k: stat([r[index][k] for r in rows]).to_dict() for k in rows[0][index]}
        for index, name in ((0, "ours"), (1, "naive"))
    }


def bench_fanout(server: EmulatorServer, p: Params) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    for n in p.fanout_sizes:
        rows = [
            _fanout_once(
                server, n, f"fanout-{n}-{i}", latency=p.fanout_latency, delay=p.fanout_delay, poll=p.naive_poll
            )
            for i in range(p.runs)
        ]
        sizes[str(n)] = _summarise(rows)
    lo, hi = str(min(p.fanout_sizes)), str(max(p.fanout_sizes))
    # The largest fan-out again with the slow (confirmed-failover) disassociation: how hard
    # does the whole invocation poll a rate-limited API while several HAVIPs finish?
    slow = _summarise(
        [
            _fanout_once(
                server, int(hi), f"fanout-slow-{i}", latency=p.fanout_latency, delay=p.confirm_delay, poll=p.naive_poll
            )
            for i in range(p.runs)
        ]
    )

    def ratio(name: str, key: str) -> float:
        return float(sizes[hi][name][key]["median"] / sizes[lo][name][key]["median"])

    return {
        "runs": p.runs,
        "emulator": {"latency_s": p.fanout_latency, "unassociate_delay_s": p.fanout_delay},
        "naive_poll_interval_s": p.naive_poll,
        "sizes": sizes,
        "ratio_max_vs_min": {
            "sizes": [int(lo), int(hi)],
            "ours": ratio("ours", "all_unassociated_s"),
            "naive_returned": ratio("naive", "all_returned_s"),
            "naive_confirmed": ratio("naive", "all_unassociated_s"),
        },
        "slow": {"havips": int(hi), "unassociate_delay_s": p.confirm_delay, **slow},
    }


# ---------------------------------------------------------------------------- warm path


def _rate(fn: Callable[[int], None], count: int, seconds: float) -> dict[str, float]:
    """Events per second of fn(i), at most `count` events and about `seconds` of wall time."""
    done = 0
    t0 = time.perf_counter()
    limit = t0 + seconds
    while done < count and (done == 0 or time.perf_counter() < limit):
        fn(done)
        done += 1
    elapsed = time.perf_counter() - t0
    return {
        "events": float(done),
        "seconds": elapsed,
        "events_per_s": done / elapsed,
        "ms_per_event": 1000 * elapsed / done,
    }


def _rates_interleaved(fns: dict[str, Callable[[int], None]], count: int, seconds: float) -> dict[str, Any]:
    """Like _rate for several handlers, alternating chunks so drift and noise hit them alike."""
    chunk = max(1, min(20, count // 5))
    done = dict.fromkeys(fns, 0)
    spent = dict.fromkeys(fns, 0.0)
    limit = time.perf_counter() + seconds * len(fns)
    while min(done.values()) < count and (min(done.values()) == 0 or time.perf_counter() < limit):
        for name, fn in fns.items():
            t = time.perf_counter()
            for _ in range(min(chunk, count - done[name])):
                fn(done[name])
                done[name] += 1
            spent[name] += time.perf_counter() - t
    return {
        name: {
            "events": float(done[name]),
            "seconds": spent[name],
            "events_per_s": done[name] / spent[name],
            "ms_per_event": 1000 * spent[name] / done[name],
        }
        for name in fns
    }


def bench_warm_path(server: EmulatorServer, p: Params) -> dict[str, Any]:
    env = function_env("fake.invalid:1")
    ctx = fc_context()
    events = {
        "manual_master": manual_event(),
        "manual_already_done": manual_event(OTHER),
        "alarm_master_http": event_file(ALARM),
        "recovery": event_file("eventbridge-ecs-running-recovery.json"),
        "rejected_bad_json": b'{"InstanceId": ',
    }
    fake_rows: dict[str, Any] = {}
    for name, event in events.items():

        def one(_i: int, event: bytes = event) -> None:
            clock = FakeClock()
            vpc = FakeVpc(clock)
            vpc.add(pair())
            invoke(event, ctx, env=env, vpc=vpc, clock=clock)

        with quiet():
            one(0)
            fake_rows[name] = _rate(one, p.warm_fake_events, p.warm_fake_seconds)

    # Over the real SDK against the emulator (no latency): an already-done incident, one
    # DescribeHaVips each, so the figure is the per-event overhead of each handler.
    ours = Ours(server)
    naive = load_naive()
    fresh(server, pair_seed(), latency=0.0, delay=0.0)
    done_event = manual_event(OTHER)
    # distinct incidents (no cache of ours may answer a repeat), built outside the timed loop
    ours_events = [manual_event(OTHER, client_token=f"w{i}") for i in range(p.warm_sdk_events + 1)]

    def ours_one(i: int) -> None:
        if outcomes(ours(ours_events[i])) != ["already-unassociated"]:
            raise RuntimeError("warm path: expected already-unassociated")

    def naive_one(_i: int) -> None:
        if naive.handler(done_event, None).get("Result") != "not associated":
            raise RuntimeError("warm path: naive expected not associated")

    ours_one(p.warm_sdk_events)  # warm-up, its own incident
    naive_one(-1)
    sdk = _rates_interleaved({"ours": ours_one, "naive": naive_one}, p.warm_sdk_events, p.warm_sdk_seconds)
    sdk["ratio_events_per_s"] = {"value": sdk["ours"]["events_per_s"] / sdk["naive"]["events_per_s"]}
    return {"fake": fake_rows, "sdk_already_done": sdk}


def bench_calls_per_incident(server: EmulatorServer) -> dict[str, Any]:
    """VPC calls per incident, from the emulator journal (no latency, 0.2 s disassociation)."""
    ours = Ours(server)
    naive = load_naive()
    cases: dict[str, Any] = {}
    for case, instance in (("master", MASTER), ("standby", STANDBY), ("already_done", MASTER)):
        row: dict[str, Any] = {}
        for name in ("ours", "naive"):
            fresh(server, pair_seed(), latency=0.0, delay=0.2)
            if case == "already_done":  # the master was taken off before: a retry, a late duplicate
                server.backend.unassociate_ha_vip(
                    "bench-earlier", region_id=REGION, ha_vip_id=HAVIP, instance_id=MASTER, force="true"
                )
                server.backend.settle()
                server.clear_journal()
            event = manual_event(instance, client_token=f"bench-calls-{case}")
            if name == "ours":
                got = outcomes(ours(event))
                expected = ["already-unassociated"] if case == "already_done" else ["unassociated"]
                if got != expected:
                    raise RuntimeError(f"calls per incident ({case}): {got}")
            else:
                naive.handler(event, None)
            journal = server.journal
            t_call = first_time(journal, "UnassociateHaVip")
            row[name] = {
                "describe": calls(journal, "DescribeHaVips"),
                "unassociate": calls(journal, "UnassociateHaVip"),
                "completion_checks": calls(journal, "DescribeHaVips", since=t_call) if t_call is not None else 0,
                "total": len(journal),
                "confirmed": name == "ours",
            }
        cases[case] = row
    return {"emulator": {"latency_s": 0.0, "unassociate_delay_s": 0.2}, "cases": cases}


# ---------------------------------------------------------------------------- event storms


def bench_storm(server: EmulatorServer, p: Params) -> dict[str, Any]:
    ours = Ours(server)
    naive = load_naive()
    alarm = event_file(ALARM)
    out: dict[str, Any] = {
        "deliveries": p.storm_deliveries,
        "emulator": {"latency_s": p.storm_latency, "unassociate_delay_s": p.storm_delay},
        "event": f"events/{ALARM} (HTTP trigger, token {CALLBACK_TOKEN})",
    }

    fresh(server, pair_seed(), latency=p.storm_latency, delay=p.storm_delay)
    statuses: dict[str, int] = {}
    t0 = time.monotonic()
    for _ in range(p.storm_deliveries):
        response = ours(alarm)
        key = str(response.get("statusCode"))
        statuses[key] = statuses.get(key, 0) + 1
    out["ours_sequential"] = _storm_row(server, t0, statuses)

    fresh(server, pair_seed(), latency=p.storm_latency, delay=p.storm_delay)
    statuses = {}
    lock = threading.Lock()
    start = threading.Barrier(min(p.storm_threads, p.storm_deliveries))

    def deliver(_i: int) -> None:
        start.wait(timeout=30)
        try:
            code = str(ours.raw(alarm).get("statusCode"))
        except Exception as exc:  # an escaped exception is an FC error (and an async retry)
            code = type(exc).__name__
        with lock:
            statuses[code] = statuses.get(code, 0) + 1

    t0 = time.monotonic()
    with quiet(), ThreadPoolExecutor(max_workers=min(p.storm_threads, p.storm_deliveries)) as pool:
        list(pool.map(deliver, range(p.storm_deliveries)))
    out["ours_concurrent"] = _storm_row(server, t0, statuses)
    out["ours_concurrent"]["threads"] = min(p.storm_threads, p.storm_deliveries)

    # The naive handler understands only the manual event: the same storm, as manual events.
    fresh(server, pair_seed(), latency=p.storm_latency, delay=p.storm_delay)
    statuses = {}
    t0 = time.monotonic()
    for _ in range(p.storm_deliveries):
        try:
            naive.handler(manual_event(), None)
            key = "returned"
        except Exception as exc:
            key = f"raised {getattr(exc, 'code', None) or type(exc).__name__}"
        statuses[key] = statuses.get(key, 0) + 1
    out["naive_sequential"] = _storm_row(server, t0, statuses)
    return out


def _storm_row(server: EmulatorServer, t0: float, statuses: dict[str, int]) -> dict[str, Any]:
    journal = server.journal
    return {
        "seconds": time.monotonic() - t0,
        "unassociate_calls": calls(journal, "UnassociateHaVip"),
        "unassociate_accepted": sum(1 for e in journal if e.action == "UnassociateHaVip" and e.status == 200),
        "unassociate_distinct_request_ids": len(
            {e.request_id for e in journal if e.action == "UnassociateHaVip" and e.status == 200}
        ),
        "describe_calls": calls(journal, "DescribeHaVips"),
        "results": dict(sorted(statuses.items())),
        "final_instances": server.backend.get_havip(HAVIP)["AssociatedInstances"]["associatedInstance"],
    }
