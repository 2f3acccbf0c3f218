"""`python -m havip_failover invoke EVENT_FILE [--dry-run]`: run the FC entry locally.

What `s local invoke` does, without Docker: the real handler, an FC-shaped context, the
user's own credentials (ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN) and
endpoint (HAVIP_VPC_ENDPOINT, HAVIP_VPC_PROTOCOL).

The event's times are set to now first (`havip_failover.samples.retime`): the samples in
events/ describe the past, and an old event is not one to act on. `--keep-times` sends
the file as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .fc_context import Fc310Context, Fc312Context, FcCredentials, FcFunction


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m havip_failover", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inv = sub.add_parser("invoke", help="run the FC handler on an event file")
    inv.add_argument("event_file", help="a JSON event, e.g. events/manual-master.json ('-' for stdin)")
    inv.add_argument("--dry-run", action="store_true", help="decide and report, never call UnassociateHaVip")
    inv.add_argument(
        "--keep-times",
        action="store_true",
        help="send the event's own times (default: set every time it carries to now, as if it just happened)",
    )
    inv.add_argument(
        "--runtime",
        choices=("python3.10", "python3.12"),
        default="python3.10",
        help="which FC context shape to pass (default: python3.10)",
    )
    inv.add_argument("--timeout", type=int, default=60, help="the function timeout in seconds (default: 60)")
    inv.add_argument("--region", default=None, help="the function's region (default: HAVIP_REGION_ID or FC_REGION)")
    ins = sub.add_parser("inspect", help="show every managed pair and what the function would do now (read-only)")
    ins.add_argument("--region", default=None, help="the region (default: HAVIP_REGION_ID or FC_REGION)")
    args = parser.parse_args(argv)
    if args.command == "inspect":
        return _inspect(args.region)

    try:
        raw = sys.stdin.buffer.read() if args.event_file == "-" else Path(args.event_file).read_bytes()
    except OSError as exc:
        print(f"cannot read {args.event_file}: {exc.strerror}", file=sys.stderr)
        return 2
    if not args.keep_times:
        from .samples import retime

        raw = retime(raw)
        print("the event's times were set to now (--keep-times to send them as they are)", file=sys.stderr)
    if args.dry_run:
        os.environ["HAVIP_DRY_RUN"] = "true"
    region = args.region or os.environ.get("HAVIP_REGION_ID") or os.environ.get("FC_REGION") or "cn-hangzhou"
    os.environ.setdefault("FC_REGION", region)
    function = FcFunction(timeout=args.timeout)
    context: Fc310Context | Fc312Context
    if args.runtime == "python3.10":
        ak = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
        secret = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
        creds = FcCredentials(ak, secret, os.environ.get("ALIBABA_CLOUD_SECURITY_TOKEN", "")) if ak and secret else None
        context = Fc310Context(credentials=creds, function=function, region=region)
    else:
        context = Fc312Context(function=function, region=region)

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


def _inspect(region: str | None) -> int:
    region = region or os.environ.get("HAVIP_REGION_ID") or os.environ.get("FC_REGION") or "cn-hangzhou"
    os.environ.setdefault("FC_REGION", region)
    ak = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
    secret = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
    creds = FcCredentials(ak, secret, os.environ.get("ALIBABA_CLOUD_SECURITY_TOKEN", "")) if ak and secret else None
    from .entry import inspect

    result = inspect(Fc310Context(credentials=creds, function=FcFunction(timeout=60), region=region))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
