"""Manual events (FC console test panel, `s invoke`, scripts) -> one Signal.

The keys are exactly UnassociateHaVip's own parameters, so they can be pasted from
the API reference::

    {"RegionId": "cn-hangzhou", "HaVipId": "havip-…", "InstanceId": "i-…",
     "Force": true, "InstanceType": "EcsInstance", "ClientToken": "…", "DryRun": true}

* ``InstanceId`` is required. ``HaVipId`` is optional: without it the function
  acts on every HAVIP holding the instance (or those of the ``HAVIP_IDS`` allowlist).
* ``RegionId`` optional (default: the function's region). ``Force`` optional: absent
  means "decide automatically", given means respected. ``DryRun`` optional.
  Booleans are JSON booleans or the strings "true"/"false" in any case.
* ``InstanceType``: ``EcsInstance`` or ``NetworkInterface`` (case ignored); an
  ``eni-`` id implies ``NetworkInterface`` and contradicting it is rejected.
* ``ClientToken``: 1-64 printable ASCII characters.
* A JSON null counts as absent. A key that looks like a misspelt parameter
  (``HavipId``, ``force``) is rejected (``UnknownParameter`` with a "did you mean"
  hint); other extra keys (a note, OwnerId, ...) are ignored.

The state is always ``failed``: a manual event is an order to take the instance
off the HAVIP. Event id: the ClientToken when given, else ``manual:`` and the first
32 hex digits of the SHA-256 of the canonical JSON of the validated parameters, so
the same request sent twice is one incident (give a fresh ClientToken to repeat an
action on purpose).
"""

from __future__ import annotations

from collections.abc import Mapping

from havip_failover.model import Signal

from ._common import (
    canonical_json,
    fail,
    havip_id,
    instance_id,
    is_eni,
    json_type,
    parse_bool,
    region_id,
    reject_typos,
    safe_repr,
    sha256_hex,
)

MANUAL_KEYS = (
    "RegionId",
    "HaVipId",
    "InstanceId",
    "Force",
    "InstanceType",
    "ClientToken",
    "DryRun",
)
# Either of these makes a JSON object a manual event.
MANUAL_MARKERS = frozenset({"HaVipId", "InstanceId"})
_INSTANCE_TYPES = {"ecsinstance": "EcsInstance", "networkinterface": "NetworkInterface"}
_CLIENT_TOKEN_MAX = 64


def looks_like_manual(obj: Mapping[str, object]) -> bool:
    return any(key in obj for key in MANUAL_MARKERS)


def parse_manual(obj: Mapping[str, object]) -> Signal:
    reject_typos(obj, MANUAL_KEYS, "manual-event")

    if obj.get("InstanceId") is None:
        fail("MissingInstanceId", "InstanceId is required (the ECS instance or ENI to take off)")
    instance = instance_id(obj["InstanceId"], "InstanceId")
    # Without HaVipId: every HAVIP holding the instance (or the HAVIP_IDS allowlist).
    ha_vip = None if obj.get("HaVipId") is None else havip_id(obj["HaVipId"], "HaVipId")
    region = None if obj.get("RegionId") is None else region_id(obj["RegionId"], "RegionId")
    force = None if obj.get("Force") is None else parse_bool(obj["Force"], "Force")
    dry_run = None if obj.get("DryRun") is None else parse_bool(obj["DryRun"], "DryRun")
    instance_type = _instance_type(obj.get("InstanceType"), instance)
    client_token = _client_token(obj.get("ClientToken"))

    if client_token is not None:
        event_id = client_token
    else:
        canonical = canonical_json(
            {
                "RegionId": region,
                "HaVipId": ha_vip,
                "InstanceId": instance,
                "Force": force,
                "InstanceType": instance_type,
                "DryRun": dry_run,
            }
        )
        event_id = "manual:" + sha256_hex(canonical)[:32]

    detail = "manual request"
    if force is not None:
        detail += f", Force={str(force).lower()}"
    if dry_run:
        detail += ", dry run"
    return Signal(
        source="manual",
        event_id=event_id,
        instance_id=instance,
        state="failed",
        detail=detail,
        region_id=region,
        ha_vip_id=ha_vip,
        force=force,
        instance_type=instance_type,
        client_token=client_token,
        dry_run=dry_run,
    )


def _instance_type(value: object, instance: str) -> str | None:
    implied = "NetworkInterface" if is_eni(instance) else None
    if value is None:
        return implied
    canonical = _INSTANCE_TYPES.get(value.strip().lower()) if isinstance(value, str) else None
    if canonical is None:
        fail(
            "InvalidParameter",
            f"InstanceType must be EcsInstance or NetworkInterface, got {safe_repr(value)}",
        )
    if is_eni(instance) and canonical != "NetworkInterface":
        fail(
            "InstanceTypeMismatch",
            f"InstanceId {instance!r} is an ENI: InstanceType must be NetworkInterface, got {canonical!r}",
        )
    if not is_eni(instance) and canonical != "EcsInstance":
        fail(
            "InstanceTypeMismatch",
            f"InstanceId {instance!r} is an ECS instance: InstanceType must be EcsInstance, got {canonical!r}",
        )
    return canonical


def _client_token(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        fail("InvalidParameter", f"ClientToken must be a string, got {json_type(value)}")
    if not (1 <= len(value) <= _CLIENT_TOKEN_MAX) or not all(" " <= ch <= "~" for ch in value):
        fail(
            "InvalidParameter",
            f"ClientToken must be 1 to {_CLIENT_TOKEN_MAX} printable ASCII characters, got {safe_repr(value)}",
        )
    return value
