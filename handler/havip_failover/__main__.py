"""`python -m havip_failover invoke EVENT_FILE` / `serve` / `inspect` / `drill HAVIP_ID`: run the FC entry locally.

`invoke` is what `s local invoke` does, `serve` what `s local start` does (a local HTTP
trigger), both without Docker: the real handler, an FC-shaped context, the user's own
credentials (ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN) and endpoints
(HAVIP_VPC_ENDPOINT, HAVIP_ECS_ENDPOINT, HAVIP_VPC_PROTOCOL). `inspect` shows every managed
pair and what the function would do now, and changes nothing. `drill` proves the whole path on
a live pair without moving the VIP: the standby taken off and put back, through the real entry
(the same order as `{"action": "drill", "haVipId": …}` from the FC console); it prints a table
for people on stderr and the result on stdout, and exits 0 only when the drill was carried out.

`invoke` sets the event's times to now first (`havip_failover.samples.retime`): the samples in
events/ describe the past, and an old event is not one to act on. `--keep-times` sends the
file as it is.

Every command checks the configuration first (bad settings: the problems, exit 2) and, when
HAVIP_VPC_ENDPOINT or HAVIP_ECS_ENDPOINT names an endpoint, that it answers in the configured
protocol (`preflight`): a stopped emulator or HTTPS against the plain-HTTP emulator fails
in seconds with a hint, not after the whole deadline of retries. The FC handler never does
this: in FC, an unreachable endpoint is retried within the deadline like any network error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import ssl
import sys
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from .fc_context import Fc310Context, Fc312Context, FcCredentials, FcFunction

RUNTIMES = ("python3.10", "python3.12")
DEFAULT_REGION = "cn-hangzhou"
PREFLIGHT_SECONDS = 2.0  # a local or VPC endpoint accepts a connection in milliseconds
REGION_HELP = (
    "the region of the HAVIPs; overrides HAVIP_REGION_ID and FC_REGION "
    f"(default: HAVIP_REGION_ID, else FC_REGION, else {DEFAULT_REGION})"
)


def make_context(runtime: str, timeout: int, region: str, request_id: str | None = None) -> Fc310Context | Fc312Context:
    """The context FC passes on `runtime`: python3.10 carries the credentials, python3.12 does not."""
    function = FcFunction(timeout=timeout)
    rid = request_id or str(uuid.uuid4())
    if runtime == "python3.10":
        ak = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
        secret = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
        creds = FcCredentials(ak, secret, os.environ.get("ALIBABA_CLOUD_SECURITY_TOKEN", "")) if ak and secret else None
        return Fc310Context(credentials=creds, function=function, region=region, request_id=rid)
    return Fc312Context(function=function, region=region, request_id=rid)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="decide and report, never call UnassociateHaVip")
    parser.add_argument(
        "--runtime", choices=RUNTIMES, default="python3.10", help="which FC context shape to pass (default: python3.10)"
    )
    parser.add_argument("--timeout", type=int, default=60, help="the function timeout in seconds (default: 60)")
    parser.add_argument("--region", default=None, help=REGION_HELP)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m havip_failover", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inv = sub.add_parser("invoke", help="run the FC handler on an event file")
    inv.add_argument("event_file", help="a JSON event, e.g. events/manual-master.json ('-' for stdin)")
    inv.add_argument(
        "--keep-times",
        action="store_true",
        help="send the event's own times (default: set every time it carries to now, as if it just happened)",
    )
    _common(inv)
    ins = sub.add_parser("inspect", help="show every managed pair and what the function would do now (read-only)")
    ins.add_argument("--region", default=None, help=REGION_HELP)
    drl = sub.add_parser(
        "drill", help="take the pair's standby off and put it back, timing every step (the VIP does not move)"
    )
    drl.add_argument("ha_vip_id", metavar="havip-id", help="the HAVIP, e.g. havip-bp1…")
    _common(drl)
    srv = sub.add_parser("serve", help="a local HTTP trigger: each request runs the FC handler")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    srv.add_argument("--port", type=int, default=9000, help="port (default: 9000; 0 = any free port)")
    srv.add_argument("--max-body", type=int, default=1024 * 1024, help="largest request body in bytes (default 1 MiB)")
    srv.add_argument("--port-file", type=Path, default=None, help="write the bound port here once listening")
    _common(srv)
    args = parser.parse_args(argv)
    region = _region(args.region)
    if args.command != "inspect" and args.dry_run:
        os.environ["HAVIP_DRY_RUN"] = "true"
    problem = _configuration_problem(os.environ) or preflight(os.environ)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if args.command == "inspect":
        return _inspect(region)
    if args.command == "serve":
        return _serve(args, region)
    if args.command == "drill":
        return _drill(args, region)

    try:
        raw = sys.stdin.buffer.read() if args.event_file == "-" else Path(args.event_file).read_bytes()
    except OSError as exc:
        print(f"cannot read {args.event_file}: {exc.strerror}", file=sys.stderr)
        return 2
    if not args.keep_times:
        from .samples import retime

        raw = retime(raw)
        print("the event's times were set to now (--keep-times to send them as they are)", file=sys.stderr)
    result = _handle(raw, args, region)
    if isinstance(result, int):
        return result
    print(json.dumps(result, indent=2, ensure_ascii=False))
    body = json.loads(result["body"]) if isinstance(result, dict) and "statusCode" in result else result
    return 0 if isinstance(body, dict) and body.get("ok") else 1


def _serve(args: argparse.Namespace, region: str) -> int:
    from .entry import handler, initialize
    from .local_http import LocalTrigger, serve

    # An FC instance runs the initializer once, before its first request.
    try:
        initialize(make_context(args.runtime, args.timeout, region))
    except Exception as exc:
        print(f"initialize failed: {exc}", file=sys.stderr)
        return 2

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)

    def ready(server: LocalTrigger) -> None:
        if args.port_file is not None:
            args.port_file.write_text(f"{server.server_address[1]}\n", encoding="utf-8")
        print(
            f"local HTTP trigger listening on {server.url} (index.handler, {args.runtime})", file=sys.stderr, flush=True
        )

    try:
        serve(
            handler,
            lambda request_id: make_context(args.runtime, args.timeout, region, request_id),
            host=args.host,
            port=args.port,
            max_body=args.max_body,
            ready=ready,
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


def _handle(raw: bytes, args: argparse.Namespace, region: str) -> Any:
    """The FC entry on `raw`, as an instance runs it: the initializer, then the handler (2: the
    initializer refused)."""
    from .entry import handler, initialize

    context = make_context(args.runtime, args.timeout, region)
    try:
        initialize(context)
    except Exception as exc:  # the initializer already logged every problem
        print(f"initialize failed: {exc}", file=sys.stderr)
        return 2
    return handler(raw, context)


def _drill(args: argparse.Namespace, region: str) -> int:
    from .drill import render_result

    order = {"action": "drill", "haVipId": args.ha_vip_id, "regionId": region, "dryRun": args.dry_run}
    result = _handle(json.dumps(order).encode(), args, region)
    if isinstance(result, int):
        return result
    if result.get("drill") is not None:
        print(render_result(result["drill"]), file=sys.stderr)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result.get("ok") else 1


def _inspect(region: str) -> int:
    from .entry import inspect

    result = inspect(make_context("python3.10", 60, region))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result.get("ok") else 1


def _region(flag: str | None) -> str:
    """--region, as its help says: it wins over HAVIP_REGION_ID and FC_REGION (the function
    reads the region from them, so the flag is written into HAVIP_REGION_ID)."""
    if flag:
        os.environ["HAVIP_REGION_ID"] = flag
    region = os.environ.get("HAVIP_REGION_ID", "").strip() or os.environ.get("FC_REGION", "").strip() or DEFAULT_REGION
    os.environ.setdefault("FC_REGION", region)  # FC always sets it; the context's region too
    return region


def _configuration_problem(env: Mapping[str, str]) -> str | None:
    """Every problem of the configuration, for a person; None when it is valid."""
    from .config import ConfigError, load

    try:
        load(env)
    except ConfigError as err:
        return "invalid configuration:\n" + "\n".join(f"  - {p}" for p in err.problems)
    return None


def preflight(env: Mapping[str, str], timeout: float = PREFLIGHT_SECONDS) -> str | None:
    """A hint when a configured endpoint does not answer, or not in the configured protocol;
    None when each answers (or none is configured: the public endpoints are left alone).

    One TCP connect (and TLS handshake for https) per endpoint: the SDK's own failure would
    be a transient NetworkError, retried until the deadline. An endpoint reached through a
    proxy (HTTP(S)_PROXY, not bypassed by NO_PROXY) is left to the SDK: a direct connect
    proves nothing about it."""
    protocol = (env.get("HAVIP_VPC_PROTOCOL", "") or "https").strip().lower()
    checked: set[str] = set()
    for name in ("HAVIP_VPC_ENDPOINT", "HAVIP_ECS_ENDPOINT"):
        endpoint = env.get(name, "").strip()
        if not endpoint or endpoint in checked:
            continue
        checked.add(endpoint)
        host, _, port_text = endpoint.partition(":")
        if protocol in urllib.request.getproxies() and not urllib.request.proxy_bypass(host):
            continue
        port = int(port_text) if port_text else (443 if protocol == "https" else 80)
        where = f"{name}={endpoint} ({protocol}://{host}:{port})"
        try:
            with socket.create_connection((host, port), timeout=timeout) as sock:
                if protocol == "https":
                    _tls_handshake(sock, host)
        except ssl.SSLError as exc:
            return (
                f"{where} does not answer TLS ({exc.reason or exc}): it speaks plain HTTP, as the local "
                "VPC emulator does; set HAVIP_VPC_PROTOCOL=http for it (https is the default, for the cloud)"
            )
        except ConnectionRefusedError:
            return (
                f"{where} refused the connection: nothing listens there. For the local emulator: is it "
                "running (`make emulator`, or `make invoke` starts one)? Else check the host and port."
            )
        except TimeoutError:
            return f"{where} did not answer within {timeout:g} s: check the host, the port and the network path"
        except (OSError, OverflowError) as exc:  # (OverflowError: a port above 65535)
            return f"{where} cannot be reached: {getattr(exc, 'strerror', None) or exc}"
    return None


def _tls_handshake(sock: socket.socket, host: str) -> None:
    # Only "does it speak TLS?": the SDK verifies the certificate on the real call.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with context.wrap_socket(sock, server_hostname=host):
        pass


if __name__ == "__main__":
    sys.exit(main())
