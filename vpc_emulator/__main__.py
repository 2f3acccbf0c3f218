"""``python -m vpc_emulator``: run the VPC emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .models import MAX_INSTANCES_LIMIT, MAX_INSTANCES_PER_HAVIP, VpcBackend, two_node_pair
from .server import EmulatorServer

DEFAULT_ACCESS_KEY_ID = "LTAIemulatorKey"
DEFAULT_ACCESS_KEY_SECRET = "emulator-secret"  # noqa: S105 - the fake, public emulator key
SCENARIOS = {"pair": two_node_pair}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vpc_emulator",
        description="Local Alibaba Cloud VPC API (HAVIP actions) for tests and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--seed", type=Path, metavar="FILE", help="seed JSON file")
    source.add_argument("--scenario", choices=sorted(SCENARIOS), help="built-in seed")
    parser.add_argument("--region", default="cn-hangzhou", help="region of --scenario")
    parser.add_argument("--access-key-id", default=DEFAULT_ACCESS_KEY_ID)
    parser.add_argument("--access-key-secret", default=DEFAULT_ACCESS_KEY_SECRET)
    parser.add_argument("--security-token", default=None, help="require this STS token with the key")
    parser.add_argument("--unassociate-delay", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--latency", type=float, default=None, metavar="SECONDS")
    parser.add_argument(
        "--max-instances",
        type=int,
        default=None,
        metavar="N",
        help=f"instances (or ENIs) one HAVIP may hold, 1 to {MAX_INSTANCES_LIMIT} (default {MAX_INSTANCES_PER_HAVIP})",
    )
    parser.add_argument(
        "--max-clock-skew",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="reject x-acs-date further off than this (negative = no check)",
    )
    parser.add_argument(
        "--event-bus",
        action="append",
        default=[],
        metavar="NAME",
        help="an EventBridge custom bus that PutEvents may publish to (repeatable)",
    )
    parser.add_argument("--port-file", type=Path, default=None, help="write the port here")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    backend = VpcBackend()
    if args.seed is not None:
        backend.seed(json.loads(args.seed.read_text(encoding="utf-8")))
    elif args.scenario is not None:
        backend.seed(SCENARIOS[args.scenario](args.region))
    if args.unassociate_delay is not None:
        backend.unassociate_delay = args.unassociate_delay
    if args.latency is not None:
        backend.latency = args.latency
    if args.max_instances is not None:
        try:
            backend.max_instances = args.max_instances
        except ValueError as exc:
            parser.error(str(exc))
    for bus in args.event_bus:
        try:
            backend.create_event_bus(bus)
        except ValueError as exc:
            parser.error(str(exc))
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    server = EmulatorServer(
        backend,
        credentials={args.access_key_id: (args.access_key_secret, args.security_token)},
        host=args.host,
        port=args.port,
        max_clock_skew=None if args.max_clock_skew < 0 else args.max_clock_skew,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server.start()
    try:
        if args.port_file is not None:
            args.port_file.write_text(f"{server.port}\n", encoding="utf-8")
        print(
            f"VPC emulator listening on {server.url} (AccessKeyId {args.access_key_id})",
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
