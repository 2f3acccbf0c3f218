"""Fault injection: errors, latency, dropped and hung connections, per action and count."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import VpcBackend

# Messages the real gateway uses for the usual transient codes.
DEFAULT_MESSAGES = {
    "Throttling": "Request was denied due to request throttling.",
    "Throttling.User": "Request was denied due to user flow control.",
    "Throttling.Api": "Request was denied due to api flow control.",
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
    "InternalError": "The request processing has failed due to some unknown error, exception or failure.",
    "SystemBusy": "The system is busy. Please try again later.",
    "OperationConflict": "The operation conflicts with another operation in progress.",
    "LastTokenProcessing": "The last token request is processing.",
    "OperationFailed.DistibuteLock": "Distibute lock fail.",
}


@dataclass
class Fault:
    """One injected fault.

    action: the API action it applies to (None = any action).
    code/http_status/message: the error answered (code None = no error: latency only).
    times: how many matching requests it applies to (-1 = forever).
    latency: seconds slept before answering.
    drop: close the connection without writing any response.
    hang: accept and never answer for that many seconds, then close.
    after: let this many matching requests pass untouched first (to hit a later
      phase: `action="DescribeHaVips", after=1` spares the first look and hits polling).
    mutate: in-process only: change the backend's state just before the request is
      served (keepalived promoting the other node, the HAVIP deleted, someone else's
      disassociation) — the race happens between the client's look and its call.
    """

    action: str | None = None
    code: str | None = "Throttling.User"
    http_status: int = 400
    times: int = 1
    latency: float = 0.0
    drop: bool = False
    hang: float = 0.0
    message: str | None = None
    after: int = 0
    mutate: Callable[[VpcBackend], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.times == 0 or self.times < -1:
            raise ValueError("Fault.times must be a positive count or -1 (forever)")
        if self.latency < 0 or self.hang < 0:
            raise ValueError("Fault latency and hang must be >= 0")
        if not 100 <= self.http_status <= 599:
            raise ValueError("Fault.http_status must be an HTTP status")

    @property
    def error_message(self) -> str:
        if self.message is not None:
            return self.message
        return DEFAULT_MESSAGES.get(self.code or "", f"Injected fault: {self.code}.")

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.pop("mutate")  # a callable: not JSON
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - (names - {"mutate"})
        if unknown:
            raise ValueError(f"unknown Fault fields: {sorted(unknown)}")
        return cls(**dict(data))


class FaultPlan:
    """Faults in insertion order; a request takes the first one matching its action."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(dataclasses.replace(fault))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, action: str) -> Fault | None:
        """Consume one use of the first fault matching `action`, if any."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.action is None or fault.action == action:
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    taken = dataclasses.replace(fault)
                    if fault.times > 0:
                        fault.times -= 1
                        if fault.times == 0:
                            del self._faults[index]
                    return taken
            return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [dataclasses.replace(f) for f in self._faults]
