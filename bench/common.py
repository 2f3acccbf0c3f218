"""Shared pieces of the benchmarks: paths, the emulator, environments, seeds, statistics."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HANDLER_DIR = ROOT / "handler"  # our FC code directory (s.yaml: code: ./handler)
NAIVE_DIR = ROOT / "bench" / "naive"  # the naive handler's FC code directory
EVENTS = ROOT / "events"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"

for _path in (str(ROOT), str(HANDLER_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from havip_failover.fc_context import Fc310Context, FcCredentials, FcFunction  # noqa: E402
from vpc_emulator import EmulatorServer, JournalEntry, VpcBackend, two_node_pair  # noqa: E402

REGION = "cn-hangzhou"
AK, SECRET = "LTAIemulatorKey", "emulator-secret"
CALLBACK_TOKEN = "demo-callback-token"  # noqa: S105 - the demo's public token
RECORD_KEY = "bench-record-key-0123456789abcdef-0123"
HAVIP = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
OTHER = "i-bp1unrelated000001"  # exists nowhere in the HAVIP: the already-done case
FUNCTION_TIMEOUT = 60  # s.yaml


@dataclass(frozen=True)
class Stat:
    median: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "n": self.n}


def stat(values: Sequence[float]) -> Stat:
    if not values:
        raise ValueError("no samples")
    return Stat(statistics.median(values), min(values), max(values), len(values))


def start_emulator() -> EmulatorServer:
    """The VPC emulator on 127.0.0.1, a free port, the demo AccessKey."""
    server = EmulatorServer(VpcBackend(), credentials={AK: (SECRET, None)}, host="127.0.0.1", port=0)
    return server.start()


def fresh(server: EmulatorServer, seed: dict[str, Any], *, latency: float, delay: float) -> None:
    """Reset the emulator to `seed` (journal, faults, nonces, transitions cleared)."""
    server.reset(seed)
    server.backend.latency = latency
    server.backend.unassociate_delay = delay


def pair_seed() -> dict[str, Any]:
    return two_node_pair(REGION)


def fanout_seed(n: int, failed: str = "i-bp1failed000000001") -> tuple[dict[str, Any], list[str]]:
    """`failed` is the master of `n` HAVIPs (each with its own standby), plus two unrelated pairs."""
    vsw, vpc = "vsw-bp1fanout0000000001", "vpc-bp1fanout0000000001"
    instances: list[dict[str, Any]] = [{"id": failed, "vswitch": vsw, "status": "Running"}]
    havips: list[dict[str, Any]] = []
    ids: list[str] = []
    for k in range(1, n + 1):
        standby = f"i-bp1standby{k:08d}"
        hid = f"havip-bp1fanout{k:08d}"
        instances.append({"id": standby, "vswitch": vsw, "status": "Running"})
        havips.append(
            {
                "id": hid,
                "vpc": vpc,
                "vswitch": vsw,
                "ip": f"192.168.7.{100 + k}",
                "instances": [failed, standby],
                "master": failed,
                "status": "InUse",
            }
        )
        ids.append(hid)
    for k in range(1, 3):  # two pairs of other nodes: discovery must leave them alone
        a, b = f"i-bp1otherA{k:09d}", f"i-bp1otherB{k:09d}"
        instances += [{"id": a, "vswitch": vsw, "status": "Running"}, {"id": b, "vswitch": vsw, "status": "Running"}]
        havips.append(
            {
                "id": f"havip-bp1other{k:09d}",
                "vpc": vpc,
                "vswitch": vsw,
                "ip": f"192.168.8.{100 + k}",
                "instances": [a, b],
                "master": a,
                "status": "InUse",
            }
        )
    return {"regions": {REGION: {"instances": instances, "havips": havips}}}, ids


def function_env(endpoint: str) -> dict[str, str]:
    """The function's environment as FC would set it (python3.10 runtime, role credentials)."""
    return {
        "FC_REGION": REGION,
        "FC_FUNCTION_NAME": "havip-failover",
        "FC_FUNCTION_MEMORY_SIZE": "256",
        "HAVIP_VPC_ENDPOINT": endpoint,
        "HAVIP_ECS_ENDPOINT": endpoint,
        "HAVIP_VPC_PROTOCOL": "http",
        "HAVIP_WAIT_SECONDS": "30",
        "HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN,
        "HAVIP_RECORD_KEY": RECORD_KEY,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": AK,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "LOG_LEVEL": "INFO",
    }


def fc_context() -> Fc310Context:
    return Fc310Context(credentials=FcCredentials(AK, SECRET), function=FcFunction(timeout=FUNCTION_TIMEOUT))


def manual_event(instance_id: str = MASTER, ha_vip_id: str = HAVIP, client_token: str | None = None) -> bytes:
    body: dict[str, Any] = {"RegionId": REGION, "HaVipId": ha_vip_id, "InstanceId": instance_id}
    if client_token is not None:
        body["ClientToken"] = client_token
    return json.dumps(body).encode()


def event_file(name: str) -> bytes:
    """A sample of events/, its times set to now (the samples' own times are in the past)."""
    from havip_failover.samples import retime

    return retime((EVENTS / name).read_bytes())


def load_naive() -> ModuleType:
    """Import the naive handler from its code directory, as FC would (a module named naive_handler)."""
    existing = sys.modules.get("naive_handler")
    if existing is not None:
        return existing
    spec = importlib.util.spec_from_file_location("naive_handler", NAIVE_DIR / "naive_handler.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {NAIVE_DIR / 'naive_handler.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["naive_handler"] = module
    spec.loader.exec_module(module)
    return module


class _NullSink(io.TextIOBase):
    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The handler's log lines (JSON on stdout) go to a null sink; they are still rendered."""
    with contextlib.redirect_stdout(_NullSink()):
        yield


def calls(
    journal: Sequence[JournalEntry], action: str, since: float = float("-inf"), until: float = float("inf")
) -> int:
    return sum(1 for e in journal if e.action == action and since <= e.time <= until)


def first_time(journal: Sequence[JournalEntry], action: str) -> float | None:
    return next((e.time for e in journal if e.action == action), None)


def unassociate_due(backend: VpcBackend, ha_vip_id: str) -> float | None:
    """When the emulator finished the disassociation of `ha_vip_id` (its due time)."""
    backend.get_havip(ha_vip_id)  # transitions are applied lazily: make sure it is applied
    return next((t[3] for t in backend.transitions if t[0] == ha_vip_id and t[2] == "unassociate"), None)


def havip_done(backend: VpcBackend, ha_vip_id: str, instance_id: str) -> bool:
    h = backend.get_havip(ha_vip_id)
    return instance_id not in h["AssociatedInstances"]["associatedInstance"] and h["Status"] != "Unassociating"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.monotonic()
    value = fn()
    return time.monotonic() - t, value
