"""`make invoke` / `make serve` against the local VPC emulator, and `make stop`.

    python scripts/local.py run [--cloud] -- COMMAND...
    python scripts/local.py stop

`run` without --cloud: unless the emulator already answers at scripts/local.env's
HAVIP_VPC_ENDPOINT (127.0.0.1:8765), start one in the background (`python -m vpc_emulator
--scenario pair`, its pid in build/emulator.pid, its output in build/emulator.log) and wait
until it answers; then run COMMAND with the function's settings from scripts/local.env in
place of any HAVIP_*, ALIBABA_CLOUD_* or FC_* variable of the caller's environment (a cloud
profile in the shell must not point a local run at the cloud, nor the other way round).
`run --cloud` (CLOUD=1): COMMAND with the caller's environment as it is; nothing started.
`stop`: stop the emulator `run` started (the pid file's), and nothing else.

Standard library only: `make stop` runs it without building the virtual environment.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ENV = ROOT / "scripts" / "local.env"
BUILD = ROOT / "build"
PID_FILE = BUILD / "emulator.pid"
LOG_FILE = BUILD / "emulator.log"
READY_SECONDS = 10.0  # it answers in well under a second; a loaded machine gets some slack
STOP_SECONDS = 5.0
CALLER_PREFIXES = ("HAVIP_", "ALIBABA_CLOUD_", "FC_")
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def say(message: str) -> None:
    print(f"local: {message}", file=sys.stderr, flush=True)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped. No quoting: what a shell's `.` reads alike."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.partition("=")
        if not sep or not key.isidentifier():
            raise SystemExit(f"{path}:{number}: not a KEY=VALUE line: {line!r}")
        values[key] = value
    return values


def local_environment(caller: Mapping[str, str], settings: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in caller.items() if not k.startswith(CALLER_PREFIXES)}
    env.update(settings)
    # A proxy of the caller's must not carry the calls to the emulator on this machine.
    if any(k.lower().endswith("_proxy") and k.lower() != "no_proxy" for k in caller):
        for key in ("NO_PROXY", "no_proxy"):
            env[key] = ",".join(filter(None, [caller.get(key, ""), *LOCAL_HOSTS]))
    return env


def probe(host: str, port: int, timeout: float = 2.0) -> str:
    """ "emulator" (the VPC emulator answers), "nothing" (nothing listens there) or "other"."""
    url = f"http://{host}:{port}/_emulator/health"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an HTTP(S)_PROXY
    try:
        with direct.open(url, timeout=timeout) as response:
            body = json.loads(response.read() or b"null")
    except urllib.error.HTTPError:
        return "other"
    except (urllib.error.URLError, OSError) as exc:
        refused = isinstance(getattr(exc, "reason", exc), ConnectionRefusedError)
        return "nothing" if refused else "other"
    except ValueError:  # an answer, but not the emulator's JSON
        return "other"
    return "emulator" if isinstance(body, dict) and body.get("ok") is True else "other"


def ensure_emulator(settings: Mapping[str, str]) -> None:
    endpoint = settings.get("HAVIP_VPC_ENDPOINT", "")
    host, _, port_text = endpoint.partition(":")
    if host not in LOCAL_HOSTS or not port_text.isdigit():
        raise SystemExit(f"local: {LOCAL_ENV.name} names HAVIP_VPC_ENDPOINT={endpoint!r}, not 127.0.0.1:PORT")
    port = int(port_text)
    found = probe(host, port)
    if found == "emulator":
        say(f"using the VPC emulator on {endpoint} (settings: scripts/local.env; CLOUD=1 for your own)")
        return
    if found == "other":
        raise SystemExit(
            f"local: something other than the VPC emulator listens on {endpoint}: stop it, or use "
            "CLOUD=1 with your own settings"
        )
    start_emulator(settings, host, port)


def start_emulator(settings: Mapping[str, str], host: str, port: int) -> None:
    BUILD.mkdir(exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "vpc_emulator",
        "--scenario",
        "pair",
        "--host",
        host,
        "--port",
        str(port),
        "--region",
        settings.get("HAVIP_REGION_ID") or settings.get("FC_REGION") or "cn-hangzhou",
        "--access-key-id",
        settings.get("ALIBABA_CLOUD_ACCESS_KEY_ID", ""),
        "--access-key-secret",
        settings.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ""),
    ]
    with LOG_FILE.open("ab") as log:
        # Its own session: it outlives this command and a Ctrl-C of `make serve`.
        process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if probe(host, port, timeout=0.5) == "emulator":
            if process.poll() is None:
                PID_FILE.write_text(f"{process.pid}\n", encoding="utf-8")
                say(
                    f"started the VPC emulator on {host}:{port} in the background (pid {process.pid}, log "
                    "build/emulator.log; `make stop` stops it, and with it the pair's state)"
                )
            # else another run started one at the same moment: that one answers
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    if process.poll() is None:
        process.terminate()
    tail = LOG_FILE.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
    raise SystemExit(
        f"local: the VPC emulator did not come up on {host}:{port} within {READY_SECONDS:g} s; "
        "build/emulator.log ends:\n  " + "\n  ".join(tail)
    )


def _is_emulator(pid: int) -> bool:
    """Is `pid` (still) our emulator, not a process that reused its number?"""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            return b"vpc_emulator" in cmdline.read_bytes()
        except OSError:
            return False
    ps = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return "vpc_emulator" in ps.stdout


def stop() -> int:
    try:
        pid = int(PID_FILE.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        say("no background emulator to stop (build/emulator.pid is absent)")
        PID_FILE.unlink(missing_ok=True)
        return 0
    if not _is_emulator(pid):
        say(f"the background emulator (pid {pid}) had already stopped")
        PID_FILE.unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline and _is_emulator(pid):
        time.sleep(0.05)
    if _is_emulator(pid):
        os.kill(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)
    say(f"stopped the background VPC emulator (pid {pid})")
    return 0


def run(command: Sequence[str], *, cloud: bool) -> int:
    if not command:
        raise SystemExit("local: run needs a command after --")
    if cloud:
        say("CLOUD=1: your own environment's settings and credentials; no emulator started")
        env = dict(os.environ)
    else:
        settings = read_env_file(LOCAL_ENV)
        ensure_emulator(settings)
        env = local_environment(os.environ, settings)
    os.execvpe(command[0], list(command), env)  # noqa: S606 - the Makefile's own command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/local.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    go = sub.add_parser("run", help="run COMMAND against the local emulator (or, --cloud, as it is)")
    go.add_argument("--cloud", action="store_true", help="the caller's environment; start nothing")
    go.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    sub.add_parser("stop", help="stop the emulator `run` started in the background")
    args = parser.parse_args(argv)
    if args.action == "stop":
        return stop()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return run(command, cloud=args.cloud)


if __name__ == "__main__":
    sys.exit(main())
