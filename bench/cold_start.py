"""Cold start: a fresh interpreter doing what the FC runtime does on a cold instance.

The child process puts the code directory first on sys.path (FC: /code), imports the entry
module, runs the initializer when the function has one (ours: ``index.initialize``, as
s.yaml configures), then the first invocation against the emulator, and reports its own
timings (monotonic clock, shared with the parent on Linux) and peak RSS (VmHWM).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    FUNCTION_TIMEOUT,
    HANDLER_DIR,
    HAVIP,
    MASTER,
    NAIVE_DIR,
    REGION,
    first_time,
    fresh,
    function_env,
    manual_event,
    pair_seed,
    stat,
)
from vpc_emulator import EmulatorServer

CHILD_TIMEOUT = 60.0  # s: a cold start that takes longer is a failure, not a sample
IMPORTTIME_MARK = "@@bench-importtime-mark@@"

# What the runtime does, and nothing else; it reports through a file, stdout is the
# function's (FC ships it to SLS; here it is a pipe the parent drains).
BOOTSTRAP = r"""
import json, os, sys, time
from types import SimpleNamespace
t_boot = time.monotonic()
code_dir, module_name, handler_name, init_name, event_path, out_path = sys.argv[1:7]
sys.path.insert(0, code_dir)
os.chdir(code_dir)
with open(event_path, "rb") as f:
    event = f.read()
function = SimpleNamespace(name="havip-failover", handler=module_name + "." + handler_name, memory=256,
                           timeout=int(os.environ["BENCH_FUNCTION_TIMEOUT"]), initializer=init_name or None)
credentials = SimpleNamespace(access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                              access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"], security_token="")
context = SimpleNamespace(request_id="cold-start-1", credentials=credentials, function=function,
                          region=os.environ["FC_REGION"], account_id="1234567890123456", service=None)
sys.stderr.write("@@bench-importtime-mark@@\n")
t_import = time.monotonic()
module = __import__(module_name)
t_imported = time.monotonic()
if init_name:
    getattr(module, init_name)(context)
t_init = time.monotonic()
result = getattr(module, handler_name)(event, context)
t_done = time.monotonic()
hwm_kb = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            hwm_kb = int(line.split()[1])
if not hwm_kb:
    import resource
    hwm_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open(out_path, "w") as f:
    json.dump({"t_boot": t_boot, "t_import": t_import, "t_imported": t_imported, "t_init": t_init,
               "t_done": t_done, "hwm_kb": hwm_kb, "result": result}, f, default=str)
"""


@dataclass(frozen=True)
class Flavour:
    name: str
    code_dir: Path
    module: str
    handler: str
    initializer: str


OURS = Flavour("ours", HANDLER_DIR, "index", "handler", "initialize")
NAIVE = Flavour("naive", NAIVE_DIR, "naive_handler", "handler", "")


def child_env(endpoint: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": tempfile.gettempdir(),
        "BENCH_FUNCTION_TIMEOUT": str(FUNCTION_TIMEOUT),
    }
    env.update(function_env(endpoint))
    return env


def _check(flavour: Flavour, result: Any) -> None:
    if flavour is OURS:
        outcomes = [r.get("outcome") for r in result.get("results", [])] if isinstance(result, dict) else []
        if outcomes != ["unassociated"]:
            raise RuntimeError(f"cold start of our handler did not fail over: {result!r}")
    elif not (isinstance(result, dict) and result.get("RequestId")):
        raise RuntimeError(f"cold start of the naive handler did not call UnassociateHaVip: {result!r}")


def run_once(server: EmulatorServer, flavour: Flavour, workdir: Path, *, importtime: bool = False) -> dict[str, Any]:
    """One cold start against a freshly reset pair; every time is relative to process start."""
    fresh(server, pair_seed(), latency=0.0, delay=0.2)
    event_path = workdir / "event.json"
    event_path.write_bytes(manual_event(MASTER, HAVIP))
    out_path = workdir / f"out-{flavour.name}.json"
    out_path.unlink(missing_ok=True)
    argv = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", BOOTSTRAP]
    argv += [
        str(flavour.code_dir),
        flavour.module,
        flavour.handler,
        flavour.initializer,
        str(event_path),
        str(out_path),
    ]
    t0 = time.monotonic()
    proc = subprocess.run(
        argv,
        env=child_env(server.endpoint),
        cwd=str(flavour.code_dir),
        capture_output=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    t_exit = time.monotonic()
    if proc.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"{flavour.name} cold start failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    data = json.loads(out_path.read_text())
    _check(flavour, data["result"])
    first_unassociate = first_time(server.journal, "UnassociateHaVip")
    if first_unassociate is None:
        raise RuntimeError(f"{flavour.name}: no UnassociateHaVip reached the emulator")
    sample = {
        "to_result_s": data["t_done"] - t0,
        "to_first_unassociate_s": first_unassociate - t0,
        "interpreter_s": data["t_import"] - t0,
        "import_s": data["t_imported"] - data["t_import"],
        "initialize_s": data["t_init"] - data["t_imported"],
        "first_invocation_s": data["t_done"] - data["t_init"],
        "process_exit_s": t_exit - t0,
        "peak_rss_mb": data["hwm_kb"] / 1024.0,
    }
    if importtime:
        sample["importtime"] = proc.stderr.decode("utf-8", "replace")
    return sample


def parse_importtime(stderr: str, top: int = 15) -> list[dict[str, Any]]:
    """The `top` imports by cumulative time, after the bootstrap's mark (site's own imports excluded)."""
    lines = stderr.splitlines()
    if IMPORTTIME_MARK in lines:
        lines = lines[lines.index(IMPORTTIME_MARK) + 1 :]
    rows: list[dict[str, Any]] = []
    for line in lines:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        try:
            self_us, cumulative_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append(
            {"module": name.strip(), "depth": depth, "self_ms": self_us / 1000, "cumulative_ms": cumulative_us / 1000}
        )
    rows.sort(key=lambda r: r["cumulative_ms"], reverse=True)
    return rows[:top]


def import_cost_by_package(stderr: str, top: int = 14) -> list[dict[str, Any]]:
    """Self time of every import after the bootstrap's mark, summed by top-level package."""
    lines = stderr.splitlines()
    if IMPORTTIME_MARK in lines:
        lines = lines[lines.index(IMPORTTIME_MARK) + 1 :]
    totals: dict[str, list[float]] = {}
    for line in lines:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        try:
            self_us = int(parts[0])
        except ValueError:
            continue
        package = parts[2].strip().split(".")[0]
        entry = totals.setdefault(package, [0.0, 0])
        entry[0] += self_us / 1000
        entry[1] += 1
    ranked = sorted(totals.items(), key=lambda kv: kv[1][0], reverse=True)
    rows: list[dict[str, Any]] = [{"package": k, "self_ms": v[0], "modules": int(v[1])} for k, v in ranked[:top]]
    total_ms = sum(v[0] for v in totals.values())
    total_modules = int(sum(v[1] for v in totals.values()))
    return [*rows, {"package": "(all)", "self_ms": total_ms, "modules": total_modules}]


def importtime_of_import(flavour: Flavour) -> list[dict[str, Any]]:
    """`python -X importtime -c "import <entry>"` from the code directory: the module import only."""
    code = (
        f"import sys; sys.path.insert(0, {str(flavour.code_dir)!r}); "
        f"sys.stderr.write({IMPORTTIME_MARK!r} + '\\n'); import {flavour.module}"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "FC_REGION": REGION}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        cwd=str(flavour.code_dir),
        capture_output=True,
        timeout=CHILD_TIMEOUT,
        check=True,
    )
    return parse_importtime(proc.stderr.decode("utf-8", "replace"))


def bench_cold_start(server: EmulatorServer, runs: int, *, warmup: bool) -> dict[str, Any]:
    samples: dict[str, list[dict[str, Any]]] = {"ours": [], "naive": []}
    with tempfile.TemporaryDirectory(prefix="havip-bench-") as tmp:
        workdir = Path(tmp)
        if warmup:  # byte-code compiled and page cache warm for both, then alternate
            run_once(server, OURS, workdir)
            run_once(server, NAIVE, workdir)
        for _ in range(runs):
            for flavour in (OURS, NAIVE):
                samples[flavour.name].append(run_once(server, flavour, workdir))
        traced_ours = run_once(server, OURS, workdir, importtime=True)
        traced_naive = run_once(server, NAIVE, workdir, importtime=True)
    summary: dict[str, Any] = {
        "runs": runs,
        "warmup": warmup,
        "emulator": {"latency_s": 0.0, "unassociate_delay_s": 0.2},
    }
    for name, rows in samples.items():
        summary[name] = {key: stat([r[key] for r in rows]).to_dict() for key in rows[0]}
    o, n = summary["ours"], summary["naive"]
    summary["ratios"] = {
        "to_result": o["to_result_s"]["median"] / n["to_result_s"]["median"],
        "to_first_unassociate": o["to_first_unassociate_s"]["median"] / n["to_first_unassociate_s"]["median"],
        "import": o["import_s"]["median"] / n["import_s"]["median"],
    }
    summary["rss_delta_mb"] = o["peak_rss_mb"]["median"] - n["peak_rss_mb"]["median"]
    summary["importtime"] = {
        "ours_import_index": importtime_of_import(OURS),
        "naive_import": importtime_of_import(NAIVE),
        "ours_cold_invocation": parse_importtime(str(traced_ours["importtime"])),
        "naive_cold_invocation": parse_importtime(str(traced_naive["importtime"])),
        "ours_by_package": import_cost_by_package(str(traced_ours["importtime"])),
        "naive_by_package": import_cost_by_package(str(traced_naive["importtime"])),
    }
    return summary
