"""`python -m havip_failover invoke EVENT_FILE [--dry-run]` / `serve [--port N]` / `inspect`: run the FC entry locally.

`invoke` is what `s local invoke` does, `serve` what `s local start` does (a local HTTP
trigger), both without Docker: the real handler, an FC-shaped context, the user's own
credentials (ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN) and endpoints
(HAVIP_VPC_ENDPOINT, HAVIP_ECS_ENDPOINT, HAVIP_VPC_PROTOCOL). `inspect` shows every managed
pair and what the function would do now, and changes nothing.

`invoke` sets the event's times to now first (`havip_failover.samples.retime`): the samples in
events/ describe the past, and an old event is not one to act on. `--keep-times` sends the
file as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import uuid
from pathlib import Path
from types import FrameType

from .fc_context import Fc310Context, Fc312Context, FcCredentials, FcFunction

RUNTIMES = ("python3.10", "python3.12")


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
    parser.add_argument("--region", default=None, help="the function's region (default: HAVIP_REGION_ID or FC_REGION)")


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
    ins.add_argument("--region", default=None, help="the region (default: HAVIP_REGION_ID or FC_REGION)")
    srv = sub.add_parser("serve", help="a local HTTP trigger: each request runs the FC handler")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    srv.add_argument("--port", type=int, default=9000, help="port (default: 9000; 0 = any free port)")
    srv.add_argument("--max-body", type=int, default=1024 * 1024, help="largest request body in bytes (default 1 MiB)")
    srv.add_argument("--port-file", type=Path, default=None, help="write the bound port here once listening")
    _common(srv)
    args = parser.parse_args(argv)
    if args.command == "inspect":
        return _inspect(args.region)

    if args.dry_run:
        os.environ["HAVIP_DRY_RUN"] = "true"
    region = args.region or os.environ.get("HAVIP_REGION_ID") or os.environ.get("FC_REGION") or "cn-hangzhou"
    os.environ.setdefault("FC_REGION", region)
    if args.command == "serve":
        return _serve(args, region)

    try:
        raw = sys.stdin.buffer.read() if args.event_file == "-" else Path(args.event_file).read_bytes()
    except OSError as exc:
        print(f"cannot read {args.event_file}: {exc.strerror}", file=sys.stderr)
        return 2
    if not args.keep_times:
        from .samples import retime

        raw = retime(raw)
        print("the event's times were set to now (--keep-times to send them as they are)", file=sys.stderr)
    context = make_context(args.runtime, args.timeout, region)

    from .entry import handler, initialize

    try:
        initialize(context)
    except Exception as exc:  # the initializer already logged every problem
        print(f"initialize failed: {exc}", file=sys.stderr)
        return 2
    result = handler(raw, context)
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


def _inspect(region: str | None) -> int:
    region = region or os.environ.get("HAVIP_REGION_ID") or os.environ.get("FC_REGION") or "cn-hangzhou"
    os.environ.setdefault("FC_REGION", region)
    from .entry import inspect

    result = inspect(make_context("python3.10", 60, region))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
