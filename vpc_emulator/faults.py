"""Fault injection: errors, latency, dropped and hung connections, stale describes, RAM
denials — per action and count."""

from __future__ import annotations

import base64
import dataclasses
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .models import VpcApiError

if TYPE_CHECKING:
    from .models import VpcBackend

# Actions whose answer can be served from the past (the describe-lag fault).
LAGGABLE_ACTIONS = frozenset({"DescribeHaVips", "DescribeInstanceStatus", "DescribeNetworkInterfaces"})
ECS_ACTIONS = frozenset({"DescribeInstanceStatus", "DescribeNetworkInterfaces"})
RAM_DENIED_MESSAGE = "User not authorized to operate on the specified resource, or this API doesn't support RAM."
EMULATOR_ACCOUNT_ID = "1234567890123456"

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
    "Forbidden.RAM": RAM_DENIED_MESSAGE,
}


def access_denied(action: str, access_key_id: str | None) -> VpcApiError:
    """The gateway's RAM denial: 403 Forbidden.RAM with its AccessDeniedDetail."""
    product = "ecs" if action in ECS_ACTIONS else "eventbridge" if action == "PutEvents" else "vpc"
    sts = (access_key_id or "").startswith("STS.")
    detail = {
        "PolicyType": "AccountLevelIdentityBasedPolicy",
        "AuthPrincipalOwnerId": EMULATOR_ACCOUNT_ID,
        # Opaque in the real API too (ram:DecodeDiagnosticMessage reads it): random bytes.
        "EncodedDiagnosticMessage": base64.b64encode(b"\x01\x01" + secrets.token_bytes(46)).decode(),
        "AuthPrincipalType": "AssumedRoleUser" if sts else "SubUser",
        "AuthPrincipalDisplayName": "havip-failover-role:emulator" if sts else "204999999999999999",
        "NoPermissionType": "ImplicitDeny",
        "AuthAction": f"{product}:{action}",
    }
    return VpcApiError(403, "Forbidden.RAM", RAM_DENIED_MESSAGE, {"AccessDeniedDetail": detail})


class RamPolicy:
    """Per-AccessKey denials, as a RAM policy without the Allow would give: `deny(actions,
    access_key_id)` (access_key_id None: every key); checked after the signature."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._denied: dict[str | None, set[str]] = {}

    def deny(self, actions: Iterable[str], access_key_id: str | None = None) -> None:
        with self._lock:
            self._denied.setdefault(access_key_id, set()).update(actions)

    def allow(self, actions: Iterable[str] | None = None, access_key_id: str | None = None) -> None:
        """Lift denials (all of that key's when `actions` is None)."""
        with self._lock:
            if actions is None:
                self._denied.pop(access_key_id, None)
            else:
                self._denied.get(access_key_id, set()).difference_update(actions)

    def clear(self) -> None:
        with self._lock:
            self._denied.clear()

    def check(self, action: str, access_key_id: str | None) -> None:
        with self._lock:
            denied = action in self._denied.get(None, set()) or action in self._denied.get(access_key_id, set())
        if denied:
            raise access_denied(action, access_key_id)

    def to_dict(self) -> dict[str, list[str]]:
        with self._lock:
            return {("*" if k is None else k): sorted(v) for k, v in self._denied.items() if v}


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
    lag: answer normally, but from the state of that many seconds ago (an eventually
      consistent read): DescribeHaVips, DescribeInstanceStatus, DescribeNetworkInterfaces
      only, with code None. A lag fault is taken separately from the others, so a lagged
      describe can also be throttled. `Fault.describe_lag(5)` builds one.
    A `Forbidden.RAM` fault answers the gateway's real denial (403 and AccessDeniedDetail,
    whatever http_status says): `Fault.ram_denied("UnassociateHaVip")`.
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
    lag: float = 0.0

    @classmethod
    def describe_lag(cls, seconds: float, action: str = "DescribeHaVips", times: int = -1) -> Fault:
        return cls(action=action, code=None, lag=seconds, times=times)

    @classmethod
    def ram_denied(cls, action: str | None, times: int = -1) -> Fault:
        return cls(action=action, code="Forbidden.RAM", http_status=403, times=times)

    def __post_init__(self) -> None:
        if self.lag < 0:
            raise ValueError("Fault.lag must be >= 0")
        if self.lag > 0 and (self.code is not None or self.drop or self.hang):
            raise ValueError("a lag fault answers normally (from the past): set code=None, no drop/hang")
        if self.lag > 0 and self.action is not None and self.action not in LAGGABLE_ACTIONS:
            raise ValueError(f"lag applies to {sorted(LAGGABLE_ACTIONS)} only")
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
        fields = dict(data)
        if fields.get("lag") and "code" not in fields:
            fields["code"] = None  # a lag fault is not an error unless one is named
        return cls(**fields)


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
        """Consume one use of the first (non-lag) fault matching `action`, if any."""
        return self._take(action, lag=False)

    def take_lag(self, action: str) -> float:
        """Consume one use of the first lag fault matching `action`: its lag (0: none)."""
        if action not in LAGGABLE_ACTIONS:
            return 0.0
        fault = self._take(action, lag=True)
        return fault.lag if fault is not None else 0.0

    def _take(self, action: str, *, lag: bool) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if (fault.lag > 0) != lag:
                    continue
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
