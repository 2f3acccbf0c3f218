"""Configuration from environment variables (VARIABLES below; s.yaml sets them on deploy),
validated once, every problem named with what is accepted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .ids import HAVIP_ID_RE, HAVIP_ID_SHAPE, REGION_RE, REGION_SHAPE
from .record import MIN_KEY_LENGTH, RecordKey

TRUE = {"true", "1", "yes", "on"}
FALSE = {"false", "0", "no", "off", ""}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
ENDPOINT_RE = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
# EventBridge's rule for a bus name: at most 127 characters, letters, digits and hyphens, starting
# with a letter or digit; `default` (Alibaba Cloud's own events) and `eventbridge-reserved-…` are not
# custom buses.
EVENT_BUS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,126}$")
# A shorter callback token is guessable, and a short secret cannot be blanked from logs
# reliably (it could be part of anything).
MIN_TOKEN_LENGTH = 16

# Every variable the function reads; the deployment tests check s.yaml and the README against it.
VARIABLES = (
    "HAVIP_IDS",
    "HAVIP_REGION_ID",
    "HAVIP_FORCE",
    "HAVIP_ALLOW_LAST_INSTANCE",
    "HAVIP_DRY_RUN",
    "HAVIP_WAIT_SECONDS",
    "HAVIP_VPC_ENDPOINT",
    "HAVIP_VPC_PROTOCOL",
    "HAVIP_ECS_ENDPOINT",
    "HAVIP_CALLBACK_TOKEN",
    "HAVIP_MIN_CONSECUTIVE_FAILURES",
    "HAVIP_REQUIRE_SURVIVOR",
    "HAVIP_MAX_EVENT_AGE_SECONDS",
    "HAVIP_TAG",
    "HAVIP_FAILBACK",
    "HAVIP_FAILBACK_HOLD_SECONDS",
    "HAVIP_COOLDOWN_SECONDS",
    "HAVIP_RECORD_KEY",
    "HAVIP_RECORD_KEY_PREVIOUS",
    "HAVIP_EVENT_BUS",
    "HAVIP_EVENTBRIDGE_ENDPOINT",
    "LOG_LEVEL",
)


class ConfigError(Exception):
    """Bad configuration: carries every problem found, not just the first."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Config:
    ha_vip_ids: tuple[str, ...] = ()
    region_id: str | None = None
    force: str = "auto"  # "auto" | "never"
    allow_last_instance: bool = False
    dry_run: bool = False
    wait_seconds: float = 30.0
    vpc_endpoint: str | None = None
    vpc_protocol: str = "https"
    ecs_endpoint: str | None = None
    # __repr__ below hides it: a Config printed by accident must not show the secret.
    callback_token: str | None = None
    min_consecutive_failures: int = 1
    log_level: str = "INFO"
    require_survivor: bool = True
    max_event_age: float = 600.0
    tag: tuple[str, str] | None = None  # HAVIP_TAG key=value: HAVIPs opted in from the console
    failback: str = "off"  # "off" | "standby"
    failback_hold: float = 300.0
    cooldown: float = 300.0
    # The key that authenticates the function's record on the HAVIP (and the previous one
    # during a rotation). Required: `load` refuses a configuration without it.
    record_key_text: str = ""
    record_key_previous: str = ""
    event_bus: str | None = None  # HAVIP_EVENT_BUS: where every change is published (None: off)
    eventbridge_endpoint: str | None = None

    @property
    def record_key(self) -> RecordKey:
        return RecordKey(self.record_key_text, self.record_key_previous or None)

    @property
    def record_secrets(self) -> tuple[str, ...]:
        return tuple(k for k in (self.record_key_text, self.record_key_previous) if k)

    def __repr__(self) -> str:
        token = "set" if self.callback_token else "unset"
        return (
            f"Config(ha_vip_ids={self.ha_vip_ids!r}, region_id={self.region_id!r}, force={self.force!r}, "
            f"allow_last_instance={self.allow_last_instance}, dry_run={self.dry_run}, "
            f"wait_seconds={self.wait_seconds}, vpc_endpoint={self.vpc_endpoint!r}, "
            f"vpc_protocol={self.vpc_protocol!r}, ecs_endpoint={self.ecs_endpoint!r}, callback_token=<{token}>, "
            f"min_consecutive_failures={self.min_consecutive_failures}, log_level={self.log_level!r}, "
            f"require_survivor={self.require_survivor}, max_event_age={self.max_event_age}, tag={self.tag!r}, "
            f"failback={self.failback!r}, failback_hold={self.failback_hold}, cooldown={self.cooldown}, "
            f"record_key=<{'set' if self.record_key_text else 'unset'}>, event_bus={self.event_bus!r}, "
            f"eventbridge_endpoint={self.eventbridge_endpoint!r})"
        )

    def public(self) -> dict[str, object]:
        """What may be logged: everything but the callback token's value."""
        return {
            "haVipIds": list(self.ha_vip_ids),
            "regionId": self.region_id,
            "force": self.force,
            "allowLastInstance": self.allow_last_instance,
            "dryRun": self.dry_run,
            "waitSeconds": self.wait_seconds,
            "vpcEndpoint": self.vpc_endpoint,
            "vpcProtocol": self.vpc_protocol,
            "ecsEndpoint": self.ecs_endpoint,
            "callbackTokenSet": bool(self.callback_token),
            "minConsecutiveFailures": self.min_consecutive_failures,
            "logLevel": self.log_level,
            "requireSurvivor": self.require_survivor,
            "maxEventAgeSeconds": self.max_event_age,
            "tag": "=".join(self.tag) if self.tag else None,
            "failback": self.failback,
            "failbackHoldSeconds": self.failback_hold,
            "cooldownSeconds": self.cooldown,
            "recordKeySet": bool(self.record_key_text),
            "recordKeyPreviousSet": bool(self.record_key_previous),
            "eventBus": self.event_bus,
            "eventbridgeEndpoint": self.eventbridge_endpoint,
        }


def _bool(env: Mapping[str, str], name: str, problems: list[str], default: bool = False) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    problems.append(
        f"{name} must be true or false (true, 1, yes, on / false, 0, no, off, any case; empty: "
        f"{str(default).lower()}), got {env[name]!r}"
    )
    return False


def load(env: Mapping[str, str]) -> Config:
    """Read and validate the configuration; raise ConfigError naming every problem."""
    problems: list[str] = []

    ids_raw = env.get("HAVIP_IDS", "")
    ids = tuple(dict.fromkeys(p.strip() for p in ids_raw.split(",") if p.strip()))
    bad_ids = [i for i in ids if not HAVIP_ID_RE.match(i)]
    if bad_ids:
        named = ", ".join(repr(i) for i in bad_ids)
        problems.append(
            f"HAVIP_IDS: {named} {'is not a HAVIP id' if len(bad_ids) == 1 else 'are not HAVIP ids'} "
            f"({HAVIP_ID_SHAPE}; comma-separated)"
        )

    # FC sets FC_REGION; HAVIP_REGION_ID overrides it (e.g. a function in another region).
    region = env.get("HAVIP_REGION_ID", "").strip() or env.get("FC_REGION", "").strip() or None
    if region is not None and not REGION_RE.match(region):
        source = "HAVIP_REGION_ID" if env.get("HAVIP_REGION_ID", "").strip() else "FC_REGION"
        problems.append(f"{source}: {region!r} is not a region id ({REGION_SHAPE})")

    force = env.get("HAVIP_FORCE", "auto").strip().lower() or "auto"
    if force not in ("auto", "never"):
        problems.append(f"HAVIP_FORCE must be auto or never, got {env.get('HAVIP_FORCE')!r}")

    allow_last = _bool(env, "HAVIP_ALLOW_LAST_INSTANCE", problems)
    dry_run = _bool(env, "HAVIP_DRY_RUN", problems)

    wait = 30.0
    wait_raw = env.get("HAVIP_WAIT_SECONDS", "").strip()
    if wait_raw:
        try:
            wait = float(wait_raw)
            if not 0 <= wait <= 900:  # NaN fails this too
                raise ValueError
        except ValueError:
            problems.append(f"HAVIP_WAIT_SECONDS must be a number of seconds from 0 to 900, got {wait_raw!r}")

    endpoint = _endpoint(env, "HAVIP_VPC_ENDPOINT", problems)
    ecs_endpoint = _endpoint(env, "HAVIP_ECS_ENDPOINT", problems)
    eventbridge_endpoint = _endpoint(env, "HAVIP_EVENTBRIDGE_ENDPOINT", problems)

    event_bus = env.get("HAVIP_EVENT_BUS", "").strip() or None
    if event_bus is not None and (
        not EVENT_BUS_RE.match(event_bus) or event_bus == "default" or event_bus.startswith("eventbridge-reserved-")
    ):
        problems.append(
            f"HAVIP_EVENT_BUS: {event_bus!r} is not a custom EventBridge bus name (letters, digits and "
            "hyphens, starting with a letter or digit, at most 127 characters; not `default` nor "
            "`eventbridge-reserved-…`); empty: publish nothing"
        )

    protocol = env.get("HAVIP_VPC_PROTOCOL", "https").strip().lower() or "https"
    if protocol not in ("http", "https"):
        problems.append(f"HAVIP_VPC_PROTOCOL must be http or https, got {env.get('HAVIP_VPC_PROTOCOL')!r}")

    token = env.get("HAVIP_CALLBACK_TOKEN", "") or None
    if token is not None and (not token.isascii() or not token.isprintable() or token != token.strip()):
        # Never echo the token itself: it travels in a URL, so only printable ASCII.
        problems.append("HAVIP_CALLBACK_TOKEN must be printable ASCII without surrounding spaces")
    elif token is not None and len(token) < MIN_TOKEN_LENGTH:
        problems.append(
            f"HAVIP_CALLBACK_TOKEN must be at least {MIN_TOKEN_LENGTH} characters (it has {len(token)}): "
            "a short token is guessable; e.g. `openssl rand -hex 24`"
        )

    record_key = _secret(env, "HAVIP_RECORD_KEY", problems, required=True)
    record_key_previous = _secret(env, "HAVIP_RECORD_KEY_PREVIOUS", problems, required=False)

    min_failures = 1
    mcf_raw = env.get("HAVIP_MIN_CONSECUTIVE_FAILURES", "").strip()
    if mcf_raw:
        if mcf_raw.isdigit() and 1 <= int(mcf_raw) <= 100:
            min_failures = int(mcf_raw)
        else:
            problems.append(f"HAVIP_MIN_CONSECUTIVE_FAILURES must be a whole number from 1 to 100, got {mcf_raw!r}")

    require_survivor = _bool(env, "HAVIP_REQUIRE_SURVIVOR", problems, default=True)

    max_age = _seconds(env, "HAVIP_MAX_EVENT_AGE_SECONDS", 600.0, 7 * 86400, problems, zero="no limit")
    hold = _seconds(env, "HAVIP_FAILBACK_HOLD_SECONDS", 300.0, 86400, problems)
    cooldown = _seconds(env, "HAVIP_COOLDOWN_SECONDS", 300.0, 86400, problems, zero="off")

    tag: tuple[str, str] | None = None
    tag_raw = env.get("HAVIP_TAG", "").strip()
    if tag_raw:
        key, sep, value = tag_raw.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or len(key) > 128 or len(value) > 128 or key.lower().startswith(("aliyun", "acs:")):
            problems.append(
                f"HAVIP_TAG must be key=value (a tag key of at most 128 characters, not starting with aliyun "
                f"or acs:), got {tag_raw!r}"
            )
        else:
            tag = (key, value)

    failback = env.get("HAVIP_FAILBACK", "off").strip().lower() or "off"
    if failback not in ("off", "standby"):
        problems.append(f"HAVIP_FAILBACK must be off or standby, got {env.get('HAVIP_FAILBACK')!r}")

    level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level == "WARN":
        level = "WARNING"
    if level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (or WARN), got {env.get('LOG_LEVEL')!r}")

    # The SDK prints full request headers (STS token included) when DEBUG=sdk.
    if "sdk" in env.get("DEBUG", "").lower():
        problems.append("DEBUG=sdk makes the Alibaba Cloud SDK print request headers with credentials; unset it")

    if problems:
        raise ConfigError(problems)
    return Config(
        ha_vip_ids=ids,
        region_id=region,
        force=force,
        allow_last_instance=allow_last,
        dry_run=dry_run,
        wait_seconds=wait,
        vpc_endpoint=endpoint,
        vpc_protocol=protocol,
        ecs_endpoint=ecs_endpoint,
        callback_token=token,
        min_consecutive_failures=min_failures,
        log_level=level,
        require_survivor=require_survivor,
        max_event_age=max_age,
        tag=tag,
        failback=failback,
        failback_hold=hold,
        cooldown=cooldown,
        record_key_text=record_key,
        record_key_previous=record_key_previous,
        event_bus=event_bus,
        eventbridge_endpoint=eventbridge_endpoint,
    )


def _secret(env: Mapping[str, str], name: str, problems: list[str], *, required: bool) -> str:
    """A record key: never echoed, at least MIN_KEY_LENGTH printable ASCII characters."""
    value = env.get(name, "")
    if not value:
        if required:
            problems.append(
                f"{name} is not set: it is the secret that authenticates the function's record on each "
                f"HAVIP (at least {MIN_KEY_LENGTH} characters; e.g. `openssl rand -hex 32`), and the "
                "function does not run without it"
            )
        return ""
    if not value.isascii() or not value.isprintable() or value != value.strip():
        problems.append(f"{name} must be printable ASCII without surrounding spaces")
    elif len(value) < MIN_KEY_LENGTH:
        problems.append(
            f"{name} must be at least {MIN_KEY_LENGTH} characters (it has {len(value)}): e.g. `openssl rand -hex 32`"
        )
    else:
        return value
    return ""


def _seconds(
    env: Mapping[str, str], name: str, default: float, most: float, problems: list[str], *, zero: str = ""
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
        if not 0 <= value <= most:  # NaN fails this too
            raise ValueError
    except ValueError:
        meaning = f" (0: {zero})" if zero else ""
        problems.append(f"{name} must be a number of seconds from 0{meaning} to {int(most)}, got {raw!r}")
        return default
    return value


def _endpoint(env: Mapping[str, str], name: str, problems: list[str]) -> str | None:
    endpoint = env.get(name, "").strip() or None
    if endpoint is not None:
        if endpoint.startswith(("http://", "https://")):
            problems.append(
                f"{name} takes host[:port] without a scheme (e.g. vpc-vpc.cn-hangzhou.aliyuncs.com or "
                f"127.0.0.1:8765), got {endpoint!r}; the scheme is HAVIP_VPC_PROTOCOL's (http or https)"
            )
        elif not ENDPOINT_RE.match(endpoint):
            problems.append(
                f"{name}: {endpoint!r} is not a host[:port] (a host name or IPv4 address, optionally :port, "
                "e.g. vpc-vpc.cn-hangzhou.aliyuncs.com or 127.0.0.1:8765)"
            )
    return endpoint
