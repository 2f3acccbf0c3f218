"""Shapes of Alibaba Cloud identifiers, shared by configuration and event parsing."""

from __future__ import annotations

import re

INSTANCE_ID_RE = re.compile(r"^i-[a-z0-9]{1,40}$")
ENI_ID_RE = re.compile(r"^eni-[a-z0-9]{1,40}$")
HAVIP_ID_RE = re.compile(r"^havip-[a-z0-9]{1,40}$")
REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+){1,4}$")


def instance_type_of(instance_id: str) -> str:
    """The InstanceType UnassociateHaVip needs for this id."""
    return "NetworkInterface" if instance_id.startswith("eni-") else "EcsInstance"
