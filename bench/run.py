"""``python -m bench.run [--smoke] [--runs N] [--out FILE] [--json FILE]``: the benchmarks of issues 4 and 11.

Every figure is measured in one run, ours side by side with the naive reference handler
(bench/naive/naive_handler.py), against the local VPC emulator on 127.0.0.1. The full run
writes bench/RESULTS.md; --smoke runs one iteration of everything with the slow parts scaled
down (CI: the benchmarks cannot rot) and never touches bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import HANDLER_DIR, RESULTS_MD, ROOT, function_env, start_emulator

MIN_COLD_RUNS = 7


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    mem_mb = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
        mem_mb = kb // 1024
    except (OSError, StopIteration, ValueError):
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "handler"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        commit += " (handler/ modified)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_mb": mem_mb,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": commit,
    }


def handler_fingerprint() -> str:
    """A hash of the deployed code (handler/), to tell whether it changed during the run."""
    digest = hashlib.sha256()
    for path in sorted(HANDLER_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(HANDLER_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def run(smoke: bool, runs: int, command: str) -> dict[str, Any]:
    from bench import cold_start, headline, reconcile, warm

    params = warm.smoke() if smoke else warm.full(runs)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # "connection pool is full" in the storm
    started = time.monotonic()
    results: dict[str, Any] = {
        "meta": {
            **machine(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "command": command,
            "smoke": smoke,
            "runs": params.runs,
            "handler_fingerprint": handler_fingerprint(),
        }
    }
    server = start_emulator()
    try:
        # The naive handler reads its configuration from the environment, as on FC.
        os.environ.update(function_env(server.endpoint))
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("cold_start", lambda: cold_start.bench_cold_start(server, params.runs, warmup=not smoke)),
            ("confirmed_failover", lambda: warm.bench_confirmed(server, params)),
            ("fan_out", lambda: warm.bench_fanout(server, params)),
            ("warm_path", lambda: warm.bench_warm_path(server, params)),
            ("calls_per_incident", lambda: warm.bench_calls_per_incident(server)),
            ("storm", lambda: warm.bench_storm(server, params)),
            ("headline", lambda: headline.bench_headline(server, headline.params(smoke, runs))),
            ("reconcile", lambda: reconcile.bench_reconcile(server, 1 if smoke else params.runs)),
        ]
        for name, step in steps:
            t = time.monotonic()
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            results[name] = step()
            print(f"bench: {name} done in {time.monotonic() - t:.1f} s", file=sys.stderr, flush=True)
    finally:
        server.stop()
    results["meta"]["duration_s"] = time.monotonic() - started
    results["meta"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    end_fingerprint = handler_fingerprint()
    results["meta"]["handler_changed_during_run"] = end_fingerprint != results["meta"]["handler_fingerprint"]
    if results["meta"]["handler_changed_during_run"]:
        print("bench: WARNING: handler/ changed during the run; the figures mix versions", file=sys.stderr)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="one fast iteration of everything; never writes RESULTS.md"
    )
    parser.add_argument("--runs", type=int, default=MIN_COLD_RUNS, help=f"runs per figure (default {MIN_COLD_RUNS})")
    parser.add_argument("--out", type=Path, default=None, help="the Markdown report (default bench/RESULTS.md)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    command = (
        "python -m bench.run"
        + (" --smoke" if args.smoke else "")
        + (f" --runs {args.runs}" if args.runs != MIN_COLD_RUNS and not args.smoke else "")
    )

    from bench.report import render

    results = run(args.smoke, args.runs, command)
    text = render(results)
    out = args.out
    if out is None:
        out = Path(tempfile.gettempdir()) / "havip-bench-smoke.md" if args.smoke else RESULTS_MD
    if args.smoke and out.resolve() == RESULTS_MD.resolve():
        parser.error("--smoke never writes bench/RESULTS.md")
    out.write_text(text, encoding="utf-8")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    print(text)
    print(f"bench: report written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
