"""Shapes of Alibaba Cloud identifiers, shared by configuration and event parsing."""

from __future__ import annotations

import re

INSTANCE_ID_RE = re.compile(r"^i-[a-z0-9]{1,40}$")
ENI_ID_RE = re.compile(r"^eni-[a-z0-9]{1,40}$")
# A real HAVIP id is havip-, a 3-character code of where it was created (bp1, uf6, 2ze...),
# then a generated part: havip-bp1v99cgsk6l7a5z0vhcz. At least the code and one more
# character; no tighter, as refusing a real id would stop the function from starting
# (and the tests' stand-ins, havip-mine1, are short). An instance or ENI id keeps its old
# shape: old ECS ids were short, and nothing says how short.
HAVIP_ID_RE = re.compile(r"^havip-[a-z0-9]{4,40}$")
HAVIP_ID_SHAPE = "havip- then 4 to 40 lowercase letters or digits, e.g. havip-bp1pair0000000001"
REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+){1,4}$")
REGION_SHAPE = "lowercase words joined by hyphens, e.g. cn-hangzhou or ap-southeast-1"


def instance_type_of(instance_id: str) -> str:
    """The InstanceType UnassociateHaVip needs for this id."""
    return "NetworkInterface" if instance_id.startswith("eni-") else "EcsInstance"
