"""Is another node of the HAVIP up? ECS `DescribeInstanceStatus` for the nodes that would stay.

ECS proves death (Stopped, Stopping, absent), never health: a hung node is still Running. So
"another node is Running" is what every trusted peer checks before it moves an address — a
necessary condition, not a proof. An ENI is as alive as the instance it is attached to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .vpc import VpcApi

# What an ENI that no instance holds, or an instance ECS does not know, is reported as.
DETACHED = "Detached"
ABSENT = "Absent"


class SurvivorReader:
    def __init__(
        self,
        api: VpcApi,
        retrying: Callable[[Callable[[], Any]], Any],
        call_timeout: Callable[[], float],
    ) -> None:
        self._api = api
        self._retrying = retrying
        self._call_timeout = call_timeout

    def states(self, region_id: str, node_ids: Sequence[str]) -> dict[str, str]:
        """{node id: ECS status}, for instances and ENIs alike. Raises VpcError when ECS cannot
        be read within the deadline (the caller decides what that means)."""
        return self.read(region_id, node_ids)[0]

    def read(self, region_id: str, node_ids: Sequence[str]) -> tuple[dict[str, str], dict[str, str | None]]:
        """The states, and which instance each ENI is attached to (None: detached)."""
        if not node_ids:
            return {}, {}
        enis = [n for n in node_ids if n.startswith("eni-")]
        holders: dict[str, str | None] = {}
        if enis:
            holders = self._retrying(
                lambda: self._api.describe_network_interfaces(region_id, enis, timeout=self._call_timeout())
            )
        instances = sorted({n for n in node_ids if not n.startswith("eni-")} | {h for h in holders.values() if h})
        statuses: dict[str, str] = {}
        if instances:
            statuses = self._retrying(
                lambda: self._api.describe_instance_status(region_id, instances, timeout=self._call_timeout())
            )
        result: dict[str, str] = {}
        for node in node_ids:
            if node.startswith("eni-"):
                holder = holders.get(node)
                result[node] = statuses.get(holder, ABSENT) if holder else DETACHED
            else:
                result[node] = statuses.get(node, ABSENT)
        return result, holders
