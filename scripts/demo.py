"""`make demo`: a two-node pair on the local VPC emulator, failed over by the real FC entry.

Starts `python -m vpc_emulator --scenario pair`, points the function at it, and runs
`index.handler` on three sample events from events/: the master's CloudMonitor alarm,
the standby's ECS stop event, then the standby's recovery. Shows the log lines, the
results and the HAVIP before and after each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STEPS = [
    ("the master's CloudMonitor alarm (HTTP trigger)", "cloudmonitor-alarm-master.json"),
    ("the standby's ECS stop event (EventBridge)", "eventbridge-ecs-stopped-standby.json"),
    ("the standby's recovery (EventBridge, ECS Running)", "eventbridge-ecs-running-recovery.json"),
]
BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vpc_emulator", "--scenario", "pair", "--port", "0", "--unassociate-delay", "1.0"],
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
                "HAVIP_WAIT_SECONDS": "10",
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
        for n, (title, name) in enumerate(STEPS, 1):
            print(f"{BOLD}--- {n}. {title}: events/{name}{RESET}")
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
            print()
            show_havips(endpoint, f"HAVIP after step {n}")
        return 0
    finally:
        proc.terminate()
        proc.wait(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
