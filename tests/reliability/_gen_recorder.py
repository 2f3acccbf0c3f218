"""What the emulator saw: every DescribeHaVips answer and every UnassociateHaVip that reached
the backend, with the HAVIP as it was at that moment (the property checks need to know
which view of a HAVIP the function acted on, and what the API saw when the call arrived)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from vpc_emulator import VpcBackend


@dataclass(frozen=True)
class View:
    time: float
    region: str | None
    havips: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Dispatch:
    time: float
    region: str | None
    havip: str | None
    instance: str | None
    force: bool
    client_token: str | None
    before: dict[str, Any] | None
    accepted: bool
    code: str | None
    ours: bool  # False: a mutation acting as "someone else"


class Recorder:
    """Wraps the backend's two actions (instance attributes; the emulator's code is untouched)."""

    def __init__(self, backend: VpcBackend) -> None:
        self._lock = threading.Lock()
        self.views: list[View] = []
        self.dispatches: list[Dispatch] = []
        describe = backend.describe_ha_vips
        unassociate = backend.unassociate_ha_vip

        def recording_describe(
            region_id: str | None,
            filters: Any = (),
            page_number: str | int | None = None,
            page_size: str | int | None = None,
        ) -> dict[str, Any]:
            result = describe(region_id, filters, page_number, page_size)
            view = View(time.monotonic(), region_id, {h["HaVipId"]: h for h in result["HaVips"]["HaVip"]})
            with self._lock:
                self.views.append(view)
            return result

        def recording_unassociate(request_id: str, **kwargs: Any) -> str:
            try:
                before: dict[str, Any] | None = backend.get_havip(kwargs.get("ha_vip_id") or "")
            except KeyError:
                before = None
            record: dict[str, Any] = {
                "time": time.monotonic(),
                "region": kwargs.get("region_id"),
                "havip": kwargs.get("ha_vip_id"),
                "instance": kwargs.get("instance_id"),
                "force": (kwargs.get("force") or "").lower() == "true",
                "client_token": kwargs.get("client_token"),
                "before": before,
                "ours": request_id != "mutation-someone-else",
            }
            try:
                rid = unassociate(request_id, **kwargs)
            except Exception as err:
                with self._lock:
                    self.dispatches.append(Dispatch(**record, accepted=False, code=getattr(err, "code", "?")))
                raise
            with self._lock:
                self.dispatches.append(Dispatch(**record, accepted=True, code=None))
            return rid

        setattr(backend, "describe_ha_vips", recording_describe)  # noqa: B010 (an instance attribute over a method)
        setattr(backend, "unassociate_ha_vip", recording_unassociate)  # noqa: B010

    def clear(self) -> None:
        with self._lock:
            self.views.clear()
            self.dispatches.clear()

    def last_view(self, region: str, havip: str, before: float) -> dict[str, Any] | None:
        """The HAVIP as the last DescribeHaVips answer before `before` showed it."""
        with self._lock:
            for view in reversed(self.views):
                if view.region == region and view.time < before and havip in view.havips:
                    return view.havips[havip]
        return None
