"""Fault schedules as data: the emulator's transient and permanent error codes, `FaultSpec`
(one `vpc_emulator.Fault`, built for a region) and `MutationLog` (state changes made by
"someone else" from inside the emulator's request thread, remembered for the checks)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from vpc_emulator import Fault, VpcBackend

TRANSIENT = (
    ("Throttling.User", 400),
    ("Throttling", 400),
    ("Throttling.Api", 400),
    ("ServiceUnavailable", 503),
    ("InternalError", 500),
    ("OperationConflict", 400),
    ("IncorrectHaVipStatus", 400),
    ("IncorrectInstanceStatus", 400),
    ("OperationFailed.QueryNetworkInterfaceInfo", 400),
    ("SystemBusy", 400),
    ("LastTokenProcessing", 400),
    ("OperationFailed.DistibuteLock", 400),
)
PERMANENT = (
    ("InvalidInstanceId.NotFound", 404),
    ("ResourceNotFound.Instance", 400),
    ("InvalidNetworkInterfaceId.NotFound", 400),
)


@dataclass(frozen=True)
class FaultSpec:
    """One emulator fault, as data. `build()` gives the `vpc_emulator.Fault`."""

    kind: str  # error | permanent | latency | drop | hang | mutate | lag
    action: str | None
    code: str | None = None
    http_status: int = 400
    times: int = 1
    after: int = 0
    seconds: float = 0.0  # latency or hang
    mutation: str | None = None  # promote | disassociate | disassociate-settled | delete | stopped
    havip: str | None = None
    target: str | None = None  # the instance a mutation is about

    def build(self, backend: VpcBackend, region: str, log: MutationLog) -> Fault:
        if self.kind in ("error", "permanent"):
            return Fault(
                action=self.action, code=self.code, http_status=self.http_status, times=self.times, after=self.after
            )
        if self.kind == "latency":
            return Fault(action=self.action, code=None, latency=self.seconds, times=self.times, after=self.after)
        if self.kind == "drop":
            return Fault(action=self.action, code=None, drop=True, times=self.times, after=self.after)
        if self.kind == "hang":
            return Fault(action=self.action, code=None, hang=self.seconds, times=self.times, after=self.after)
        if self.kind == "lag":  # the describe answers from the state of `seconds` ago
            return Fault(action=self.action, code=None, lag=self.seconds, times=-1)
        return Fault(
            action=self.action,
            code=None,
            times=1,
            after=self.after,
            mutate=lambda b: log.apply(self, b, region),
        )


@dataclass(frozen=True)
class MutationRecord:
    time: float
    havip: str
    mutation: str
    target: str | None
    before: dict[str, Any] | None  # the HAVIP as it was just before the mutation
    applied: bool


class MutationLog:
    """Applies mutations (from inside the emulator's request thread) and remembers them, so
    the invariant checks know which views of a HAVIP the function may legitimately have had."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[MutationRecord] = []

    def apply(self, spec: FaultSpec, backend: VpcBackend, region: str) -> None:
        assert spec.havip is not None
        before: dict[str, Any] | None
        try:
            before = backend.get_havip(spec.havip)
        except KeyError:
            before = None
        applied = True
        try:  # best effort: the state may already have moved on (that is the point of races)
            if spec.mutation == "promote":
                backend.set_master(spec.havip, spec.target)
            elif spec.mutation in ("disassociate", "disassociate-settled"):
                assert spec.target is not None
                backend.unassociate_ha_vip(
                    "mutation-someone-else",
                    region_id=region,
                    ha_vip_id=spec.havip,
                    instance_id=spec.target,
                    force="true",
                    instance_type="NetworkInterface" if spec.target.startswith("eni-") else "EcsInstance",
                )
                if spec.mutation == "disassociate-settled":
                    backend.settle()
            elif spec.mutation == "delete":
                backend.delete_havip(spec.havip)
            elif spec.mutation == "stopped":
                assert spec.target is not None
                backend.set_instance_status(spec.target, "Stopped")
        except Exception:
            applied = False
        with self._lock:
            self.records.append(
                MutationRecord(time.monotonic(), spec.havip, spec.mutation or "", spec.target, before, applied)
            )
