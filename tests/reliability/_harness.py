"""Shared by the reliability tests: an emulator per scenario, the FC entry driven against it
with the real SDK over real HTTP, and a recorder whose figures docs/reliability.md shows."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context, FcCredentials, FcFunction
from havip_failover.vpc import Credentials, SdkVpc
from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "reliability"
AK, SECRET = "LTAIemulatorKey", "emulator-secret"
STS_TOKEN = "CAIS-reliability-sts-token-0123456789"
CALLBACK_TOKEN = "demo-callback-token"  # the one the sample HTTP events carry
RECORD_KEY = "reliability-record-key-0123456789abcdef"
SECRETS = (SECRET, STS_TOKEN, CALLBACK_TOKEN, RECORD_KEY)
REGION = "cn-hangzhou"
HAVIP = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
# The client's HTTP timeouts in these tests: short, so that "slower than the read timeout"
# and "hung" cost half a second, not the production 5 s.
READ_TIMEOUT = 0.5


@dataclass
class Run:
    result: dict[str, Any]  # the result contract (unwrapped from an HTTP response)
    elapsed: float
    status: int | None = None  # the HTTP status, for HTTP-trigger events

    @property
    def only(self) -> dict[str, Any]:
        (r,) = self.result["results"]
        one: dict[str, Any] = r
        return one


@dataclass
class Scenario:
    """One emulator with the demo pair, and the function pointed at it."""

    server: EmulatorServer
    env: dict[str, str] = field(default_factory=dict)

    def invoke(self, event: bytes, *, timeout: int = 60, request_id: str | None = None, **extra_env: str) -> Run:
        env = {**self.env, **extra_env}
        vpc = SdkVpc(
            Credentials(AK, SECRET, STS_TOKEN),
            endpoint=self.server.endpoint,
            ecs_endpoint=self.server.endpoint,
            protocol="http",
            connect_timeout=READ_TIMEOUT,
            read_timeout=READ_TIMEOUT,
        )
        ctx = Fc310Context(credentials=FcCredentials(AK, SECRET, STS_TOKEN), function=FcFunction(timeout=timeout))
        if request_id is not None:  # FC's own retry of one invocation keeps its request id
            ctx = replace(ctx, request_id=request_id)
        started = time.monotonic()
        response = invoke(event, ctx, env=env, vpc=vpc)
        elapsed = time.monotonic() - started
        if "statusCode" in response:
            return Run(json.loads(response["body"]), elapsed, response["statusCode"])
        return Run(response, elapsed)

    def havip(self) -> dict[str, Any]:
        return self.server.backend.get_havip(HAVIP)

    def associated(self) -> list[str]:
        return list(self.havip()["AssociatedInstances"]["associatedInstance"])


@contextmanager
def scenario(unassociate_delay: float = 0.3) -> Iterator[Scenario]:
    backend = VpcBackend(unassociate_delay=unassociate_delay)
    server = EmulatorServer(backend, credentials={AK: (SECRET, STS_TOKEN)})
    backend.seed(two_node_pair())
    backend.unassociate_delay = unassociate_delay
    with server:
        yield Scenario(
            server,
            {
                "FC_REGION": REGION,
                "HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN,
                "HAVIP_RECORD_KEY": RECORD_KEY,
                "HAVIP_WAIT_SECONDS": "10",
            },
        )


def manual(**fields: Any) -> bytes:
    return json.dumps({"RegionId": REGION, **fields}).encode()


def health(instance: str, check_id: str) -> bytes:
    """A failed health check naming no HAVIP: the function discovers it."""
    return json.dumps({"type": "havip.health", "instanceId": instance, "healthy": False, "id": check_id}).encode()


class Recorder:
    """Figures for docs/reliability.md: collected by one test module, written when it ends
    (`make reliability` runs the tests and regenerates the page from these files)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, **row: Any) -> None:
        with self._lock:
            self.rows.append(row)

    def write(self) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{self.name}.json").write_text(json.dumps(self.rows, indent=1, ensure_ascii=False))


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, "a secret reached a log line or a result"
