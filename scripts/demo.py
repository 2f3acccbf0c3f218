"""`make demo`: a two-node pair on the local VPC emulator, kept whole by the real FC entry.

Starts `python -m vpc_emulator --scenario pair`, points the function at it (HAVIP_IDS names
the pair, HAVIP_FAILBACK=standby with a 2 s hold), and runs `index.handler` through the whole
story: the master dies (ECS Stopped) and its CloudMonitor alarm fences it; a reconcile while
it is down reports the pair degraded; it comes back (ECS Running) and the reconciler, after the
hold, re-associates it as the standby; a reconcile with nothing to do; inspect. Shows the log
lines, the results and the HAVIP after each step, and at the end the events the function
published to the emulator's EventBridge bus (HAVIP_EVENT_BUS).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MASTER = "i-bp1master000000001"
HOLD = 2  # s: HAVIP_FAILBACK_HOLD_SECONDS for the demo (300 by default)
BUS = "havip-failover"  # the emulator's EventBridge bus the demo publishes to
# (title, event file in events/, ECS status to give the old master first, seconds to wait first)
STEPS: list[tuple[str, str, str | None, float]] = [
    ("the master dies; its CloudMonitor alarm (HTTP trigger)", "cloudmonitor-alarm-master.json", "Stopped", 0),
    ("FC's timer while it is down: the reconciler reports the pair degraded", "timer-reconcile.json", None, 0),
    ("the old master is Running again: the reconciler starts the hold", "timer-reconcile.json", "Running", 0),
    (f"{HOLD} s later: the reconciler re-associates it as the standby", "timer-reconcile.json", None, HOLD + 0.2),
    ("the next timer: nothing to do, no call that changes anything", "timer-reconcile.json", None, 0),
    ("inspect: GET on the HTTP trigger, read-only", "http-inspect-get.json", None, 0),
]
BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vpc_emulator",
            "--scenario",
            "pair",
            "--port",
            "0",
            "--unassociate-delay",
            "1.0",
            "--event-bus",
            BUS,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on http://" not in line:
        proc.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    endpoint = line.split("http://", 1)[1].split()[0]
    return proc, endpoint


def havips(endpoint: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"http://{endpoint}/_emulator/state", timeout=5) as response:
        state = json.load(response)
    return [h for region in state["regions"].values() for h in region["havips"]]


def show_havips(endpoint: str, title: str) -> None:
    print(f"{BOLD}{title}{RESET}")
    for h in havips(endpoint):
        instances = ", ".join(f"{i} (master)" if i == h.get("master") else i for i in h.get("instances", [])) or "none"
        print(f"  {h['id']}  {h.get('ip', '')}  status={h.get('status')}  instances: {instances}")
    print()


def events(endpoint: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"http://{endpoint}/_emulator/events?bus={BUS}", timeout=5) as response:
        received: list[dict[str, Any]] = json.load(response)
    return [e["event"] for e in received]


def show_events(endpoint: str) -> None:
    print(f"{BOLD}Events on the EventBridge bus {BUS} (GET /_emulator/events){RESET}")
    for e in events(endpoint):
        data = e["Data"]
        what = (
            f"{data.get('instanceId')} {data.get('outcome')} ({data.get('reason')})"
            if "outcome" in data
            else f"pair {data.get('state')}, nodes {data.get('nodes')}"
        )
        print(f"  {e['Time']}  {e['Type']:<36} {e['Subject']}  {what}")
    print()


def set_status(endpoint: str, instance: str, status: str) -> None:
    request = urllib.request.Request(
        f"http://{endpoint}/_emulator/instances/{instance}",
        data=json.dumps({"status": status}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - the emulator's http:// URL above
        pass


def main() -> int:
    proc, endpoint = start_emulator()
    try:
        os.environ.update(
            {
                "FC_REGION": "cn-hangzhou",
                "HAVIP_VPC_ENDPOINT": endpoint,
                "HAVIP_ECS_ENDPOINT": endpoint,
                "HAVIP_VPC_PROTOCOL": "http",
                "HAVIP_CALLBACK_TOKEN": "demo-callback-token",
                # the key that signs the function's record on the HAVIP (a deployment sets its own)
                "HAVIP_RECORD_KEY": "demo-record-key-0123456789abcdef-0123",
                "HAVIP_WAIT_SECONDS": "10",
                "HAVIP_IDS": "havip-bp1pair0000000001",
                "HAVIP_FAILBACK": "standby",
                "HAVIP_FAILBACK_HOLD_SECONDS": str(HOLD),
                "HAVIP_EVENT_BUS": BUS,
                "HAVIP_EVENTBRIDGE_ENDPOINT": endpoint,
                "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIemulatorKey",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "emulator-secret",
            }
        )
        sys.path[:0] = [str(ROOT / "handler")]
        from havip_failover.fc_context import Fc312Context
        from havip_failover.samples import retime
        from index import handler, initialize  # the module and function s.yaml names

        print(f"{BOLD}havip-failover demo{RESET}: VPC emulator at http://{endpoint} (region cn-hangzhou)\n")
        show_havips(endpoint, "HAVIP before")
        initialize(Fc312Context(request_id="demo-init"))
        for n, (title, name, status, pause) in enumerate(STEPS, 1):
            time.sleep(pause)
            print(f"{BOLD}--- {n}. {title}: events/{name}{RESET}")
            if status is not None:
                set_status(endpoint, MASTER, status)
                print(f"{DIM}(emulator: ECS now says {MASTER} is {status}){RESET}")
            raw = retime((ROOT / "events" / name).read_bytes())  # the samples' times are in the past
            response = handler(raw, Fc312Context(request_id=f"demo-request-{n}"))
            result = json.loads(response["body"]) if "statusCode" in response else response
            if "statusCode" in response:
                print(f"{DIM}HTTP {response['statusCode']}{RESET}")
            print(f"{DIM}result:{RESET}")
            print(json.dumps(result, indent=2, ensure_ascii=False))
            for r in result["results"]:
                havip = r["haVipId"] or "(no HAVIP looked up)"
                print(f"{BOLD}=> {havip} / {r['instanceId']}: {r['outcome']} ({r['reason']}){RESET}")
            for p in result.get("pairs", []):
                plan = ", ".join(f"{x['action']} {x['node']}" for x in p["plan"]) or "nothing"
                state = "DEGRADED" if p["degraded"] else "whole"
                print(f"{BOLD}=> {p['haVipId']}: {state}; plan: {plan}{RESET}")
                for line in p["restore"] + p["waiting"]:
                    print(f"   {line}")
            print()
            show_havips(endpoint, f"HAVIP after step {n}")
        show_events(endpoint)
        return 0
    finally:
        proc.terminate()
        proc.wait(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
