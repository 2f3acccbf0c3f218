"""The headline figure: keepalived's notify script starts → the failed peer is confirmed fenced.

The real path, end to end on this machine: contrib/keepalived/havip-notify.sh run by dash
with the real curl → the local HTTP trigger (`python -m havip_failover serve`, its own
process, warm) → the real entry → the SDK → the VPC emulator with API latency and an
asynchronous disassociation. The peer (the HAVIP's master) is Stopped, the survivor Running.

Ours: the function waits for the disassociation and answers `unassociated`; the script's
exit is the confirmation. Poll 5 s: the same script and trigger, the function deployed with
HAVIP_WAIT_SECONDS=0 (it makes the call and answers `pending`), then a Terraform-style
poller that checks DescribeHaVips every 5 s until the peer is gone. Runs alternate; the end
of the disassociation is spread over our 250 ms poll cadence as in bench/warm.py.
"""

from __future__ import annotations

import math
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import HAVIP, MASTER, first_time, fresh, pair_seed, unassociate_due
from bench.warm import _naive_client, _naive_poll_until_done
from tests.e2e.notify_harness import Trigger, function_env, run_notify, start_trigger, write_config
from vpc_emulator import EmulatorServer

MIN_RUNS = 20


@dataclass(frozen=True)
class HeadlineParams:
    runs: int
    latency: float = 0.05
    delay: float = 2.0
    poll: float = 5.0


def params(smoke: bool, runs: int) -> HeadlineParams:
    if smoke:
        return HeadlineParams(runs=1, latency=0.01, delay=0.3, poll=0.5)
    return HeadlineParams(runs=max(MIN_RUNS, runs))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 20 samples is the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p95": percentile(values, 95),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def _seed() -> dict[str, Any]:
    seed = pair_seed()
    for region in seed["regions"].values():
        for inst in region["instances"]:
            if inst["id"] == MASTER:
                inst["status"] = "Stopped"  # the failed peer; the survivor stays Running
    return seed


def _one(server: EmulatorServer, config: Path, p: HeadlineParams, delay: float, poller: Any) -> dict[str, float]:
    fresh(server, _seed(), latency=p.latency, delay=delay)
    t0 = time.monotonic()
    done = run_notify(config, "fence", timeout=120)
    t_script = time.monotonic()
    if done.returncode != 0:
        raise RuntimeError(f"the notify script failed ({done.returncode}): {done.stderr[-2000:]}")
    if poller is None:
        if "outcome unassociated" not in done.stderr:
            raise RuntimeError(f"the function did not confirm the fence: {done.stderr[-2000:]}")
        t_end = t_script
    else:
        if "HTTP 202" not in done.stderr:
            raise RuntimeError(f"expected 202 pending from HAVIP_WAIT_SECONDS=0: {done.stderr[-2000:]}")
        t_end = _naive_poll_until_done(poller, [HAVIP], MASTER, p.poll)
    due = unassociate_due(server.backend, HAVIP)
    t_call = first_time(server.journal, "UnassociateHaVip")
    if due is None or t_call is None:
        raise RuntimeError("the emulator recorded no disassociation")
    return {
        "confirmed_s": t_end - t0,
        "script_s": t_script - t0,
        "to_unassociate_s": t_call - t0,
        "lag_s": max(0.0, t_end - due),
    }


def bench_headline(server: EmulatorServer, p: HeadlineParams) -> dict[str, Any]:
    if shutil.which("dash") is None or shutil.which("curl") is None:
        raise RuntimeError("the headline benchmark runs the notify script with dash and curl: install both")
    triggers: dict[str, Trigger] = {}
    with tempfile.TemporaryDirectory(prefix="havip-headline-") as tmp:
        work = Path(tmp)
        try:
            for name, wait in (("ours", "30"), ("poll5", "0")):
                d = work / name
                d.mkdir()
                triggers[name] = start_trigger(
                    server.endpoint, d, env=function_env(server.endpoint, HAVIP_WAIT_SECONDS=wait)
                )
            configs = {
                name: write_config(work / f"{name}.conf", t.url, HAVIP_NOTIFY_STATE_DIR=work / "state")
                for name, t in triggers.items()
            }
            poller = _naive_client(server)
            # warm both instances (SDK client, connection pool) and the page cache
            for name in triggers:
                _one(server, configs[name], p, 0.05, poller if name == "poll5" else None)
            rows: dict[str, list[dict[str, float]]] = {"ours": [], "poll5": []}
            for i in range(p.runs):
                delay = p.delay + (i % 4) * 0.0625
                rows["ours"].append(_one(server, configs["ours"], p, delay, None))
                rows["poll5"].append(_one(server, configs["poll5"], p, delay, poller))
        finally:
            for t in triggers.values():
                t.stop()
    out: dict[str, Any] = {
        "runs": p.runs,
        "emulator": {"latency_s": p.latency, "unassociate_delay_s": p.delay},
        "poll_interval_s": p.poll,
    }
    for name, samples in rows.items():
        out[name] = {key: summary([r[key] for r in samples]) for key in samples[0]}
    out["ratio_median"] = out["ours"]["confirmed_s"]["median"] / out["poll5"]["confirmed_s"]["median"]
    out["ratio_p95"] = out["ours"]["confirmed_s"]["p95"] / out["poll5"]["confirmed_s"]["p95"]
    return out


def _ms(x: float) -> str:
    return f"{x * 1000:,.0f} ms"


def render(h: dict[str, Any]) -> list[str]:
    o, n = h["ours"], h["poll5"]
    e = h["emulator"]
    lines = [
        "## Headline: keepalived notices → peer confirmed fenced",
        "",
        f"From the start of keepalived's notify script (`contrib/keepalived/havip-notify.sh`, dash, real curl) "
        f"to the failed peer confirmed off the HAVIP: through the local HTTP trigger (`python -m havip_failover "
        f"serve`, a warm instance), the real entry and the VPC emulator ({e['latency_s'] * 1000:.0f} ms API "
        f"latency, a {e['unassociate_delay_s']:g} s asynchronous disassociation spread over 250 ms). "
        f"{h['runs']} alternating runs each. *Poll {h['poll_interval_s']:g} s*: the same script and trigger, "
        "the function with `HAVIP_WAIT_SECONDS=0` (call, answer `pending`), then a Terraform-style poller "
        f"checking DescribeHaVips every {h['poll_interval_s']:g} s.",
        "",
        f"| | Ours | Poll {h['poll_interval_s']:g} s | Ours / poll |",
        "|---|---|---|---|",
        f"| script start → confirmed fenced, median | **{_ms(o['confirmed_s']['median'])}** | "
        f"{_ms(n['confirmed_s']['median'])} | {h['ratio_median']:.2f}× |",
        f"| script start → confirmed fenced, p95 | **{_ms(o['confirmed_s']['p95'])}** | "
        f"{_ms(n['confirmed_s']['p95'])} | {h['ratio_p95']:.2f}× |",
        f"| script start → UnassociateHaVip at the emulator, median | {_ms(o['to_unassociate_s']['median'])} | "
        f"{_ms(n['to_unassociate_s']['median'])} | |",
        f"| lag after the emulator finished, median (p95) | {_ms(o['lag_s']['median'])} ({_ms(o['lag_s']['p95'])}) "
        f"| {_ms(n['lag_s']['median'])} ({_ms(n['lag_s']['p95'])}) | |",
        f"| min – max | {_ms(o['confirmed_s']['min'])} – {_ms(o['confirmed_s']['max'])} | "
        f"{_ms(n['confirmed_s']['min'])} – {_ms(n['confirmed_s']['max'])} | |",
        "",
    ]
    return lines
