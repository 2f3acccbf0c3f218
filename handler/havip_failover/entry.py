"""The composition root: FC's `handler(event, context)` and `initialize(context)`.

Builds the configuration, the SDK adapter and the engine, and turns the outcome into
the result contract (docs/operations.md; wrapped as an HTTP response for the HTTP trigger).
The SDK client is built lazily and kept across warm invocations.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import structlog

from . import logs
from .config import Config, ConfigError, load
from .decide import Rules, recovered_nodes
from .drill import Timed, run_drill
from .engine import Deadline, Engine, Policy
from .lifecycle import LifecyclePolicy, LifecycleRun, Reconciler
from .model import BadEvent, Parsed, ParseOptions, Unauthorized
from .publish import PUBLISH_SECONDS, Outbox, publish
from .record import iso
from .resolve import Resolver
from .result import Report, error_dict
from .sources import parse_event
from .vpc import Credentials, SdkVpc, VpcApi, VpcError, preload_sdk

log = structlog.get_logger("havip_failover")

# How much of the function's timeout to keep back, so the result is returned (and the
# canonical lines written) before FC kills the instance.
SAFETY_MARGIN_MAX = 3.0
SAFETY_MARGIN_MIN = 0.5
# CloudMonitor gives a callback 5 s before it retries: answer the HTTP trigger within this,
# with `pending` if the disassociation is still running (a retry then finds it done).
HTTP_ANSWER_SECONDS = 4.0
# With HAVIP_WAIT_SECONDS=0: time for the look and the call (with retries), no waiting after.
NO_WAIT_CALL_SECONDS = 10.0

logs.configure(os.environ.get("LOG_LEVEL", "INFO").strip() or "INFO")


class _SystemClock:
    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)


SYSTEM_CLOCK = _SystemClock()

_lock = threading.Lock()
_config_cache: tuple[tuple[tuple[str, str], ...], Config] | None = None
_vpc_cache: dict[tuple[Any, ...], SdkVpc] = {}


def _config(env: Mapping[str, str]) -> Config:
    """Load once per distinct environment (an FC instance's environment never changes)."""
    global _config_cache
    snapshot = tuple(sorted((k, v) for k, v in env.items() if k.startswith(("HAVIP_", "FC_REGION", "LOG_", "DEBUG"))))
    cached = _config_cache
    if cached is not None and cached[0] == snapshot:
        return cached[1]
    config = load(env)
    logs.register_secret(config.callback_token)
    for secret in config.record_secrets:
        logs.register_secret(secret)
    _config_cache = (snapshot, config)
    return config


def credentials_from(context: Any, env: Mapping[str, str]) -> Credentials | None:
    """python3.10 runtime: context.credentials; python3.12: ALIBABA_CLOUD_* variables only."""
    creds = getattr(context, "credentials", None)
    if creds is not None:
        ak = _attr(creds, "access_key_id", "accessKeyId")
        secret = _attr(creds, "access_key_secret", "accessKeySecret")
        token = _attr(creds, "security_token", "securityToken")
        if ak and secret:
            return Credentials(ak, secret, token or None)
    ak = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
    secret = env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
    if ak and secret:
        return Credentials(ak, secret, env.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None)
    return None


def _attr(obj: Any, *names: str) -> str | None:
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def _sdk_vpc(config: Config, creds: Credentials | None) -> SdkVpc:
    # STS credentials rotate: a new set gets a new client, the old one is dropped.
    key = (config.vpc_endpoint, config.ecs_endpoint, config.eventbridge_endpoint, config.vpc_protocol, creds)
    with _lock:
        vpc = _vpc_cache.get(key)
        if vpc is None:
            _vpc_cache.clear()
            vpc = SdkVpc(
                creds,
                endpoint=config.vpc_endpoint,
                ecs_endpoint=config.ecs_endpoint,
                eventbridge_endpoint=config.eventbridge_endpoint,
                protocol=config.vpc_protocol,
            )
            _vpc_cache[key] = vpc
        return vpc


def _function_timeout(context: Any) -> float | None:
    function = getattr(context, "function", None)
    timeout = _attr_num(function, "timeout")
    return timeout if timeout and timeout > 0 else None


def _attr_num(obj: Any, name: str) -> float | None:
    value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def budget_seconds(wait_seconds: float, function_timeout: float | None, elapsed: float = 0.0) -> float:
    """The single deadline: min(configured wait, function timeout - safety margin).
    HAVIP_WAIT_SECONDS=0 means "do not wait for completion": the calls still get time."""
    wait = wait_seconds if wait_seconds > 0 else NO_WAIT_CALL_SECONDS
    if function_timeout is None:
        return wait
    margin = min(SAFETY_MARGIN_MAX, max(SAFETY_MARGIN_MIN, function_timeout * 0.1))
    return max(0.0, min(wait, function_timeout - margin - elapsed))


def initialize(context: Any) -> None:
    """FC initializer: validate the configuration once per instance, loudly."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(requestId=getattr(context, "request_id", None))
    try:
        config = _config(os.environ)
    except ConfigError as err:
        log.error("havip.config.invalid", problems=err.problems)
        raise
    logs.configure(config.log_level)
    # A cold instance runs this before its first event: paying for the SDK's imports here
    # keeps them out of the failover's own deadline (and CloudMonitor's 5 s).
    preload_sdk()
    log.info("havip.initialized", config=config.public())


def handler(event: Any, context: Any) -> Any:
    """FC entry."""
    return invoke(event, context)


def invoke(
    event: Any,
    context: Any,
    *,
    env: Mapping[str, str] | None = None,
    vpc: VpcApi | None = None,
    clock: Any = SYSTEM_CLOCK,
    rng: random.Random | None = None,
    wall: Callable[[], float] = time.time,
) -> Any:
    """handler() with its collaborators injectable (tests, the local invoke command)."""
    started = clock.monotonic()
    env = os.environ if env is None else env
    request_id = str(getattr(context, "request_id", None) or uuid.uuid4())
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(requestId=request_id)
    http = False
    try:
        config = _config(env)
        logs.configure(config.log_level)
        try:
            raw = _as_bytes(event)
            parsed = parse_event(raw, ParseOptions(config.min_consecutive_failures), config.callback_token)
        except Unauthorized as err:
            log.warning("havip.rejected", code=err.code, message=err.message, status=err.status)
            return _http_response(err.status, _result(request_id, False, [], error=_error(err)))
        except BadEvent as err:
            log.warning("havip.rejected", code=err.code, message=err.message)
            result = _result(request_id, False, [], error=_error(err))
            if err.envelope == "http":
                return _http_response(err.status or 400, result)
            if err.code == "EventTooLarge" and _looks_http(event):
                # Too large to be read as an HTTP request, but one all the same: FC would
                # answer a bare result with 200.
                return _http_response(413, result)
            return result
        http = parsed.envelope == "http"
        for skip in parsed.ignored:
            log.info("havip.ignored", code=skip.code, message=skip.message, subject=skip.subject, index=skip.index)
        for bad in parsed.rejected:
            log.warning("havip.rejected", code=bad.code, message=bad.message, index=bad.index)
        result = _run(
            parsed,
            config=config,
            context=context,
            env=env,
            vpc=vpc,
            clock=clock,
            rng=rng,
            wall=wall,
            started=started,
            request_id=request_id,
            http=http,
        )
    except ConfigError as err:
        log.error("havip.config.invalid", problems=err.problems)
        result = _result(request_id, False, [], error={"code": "InvalidConfiguration", "message": str(err)})
        return _http_response(500, result) if _looks_http(event) else result
    except Exception:
        # A bug, not bad input: say so, and let FC's async retry re-deliver (the
        # ClientToken makes a second run safe).
        log.exception("havip.internal_error")
        raise
    finally:
        structlog.contextvars.clear_contextvars()
    if http:
        return _http_response(_status(result), result)
    return result


def inspect(
    context: Any,
    *,
    env: Mapping[str, str] | None = None,
    vpc: VpcApi | None = None,
    clock: Any = SYSTEM_CLOCK,
    wall: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """A read-only view of every managed pair (`python -m havip_failover inspect`, GET on the
    HTTP trigger): nodes, master, ECS states, the record, degraded or not, the plan. It makes
    no call that changes anything, whatever the configuration says."""
    env = os.environ if env is None else env
    request_id = str(getattr(context, "request_id", None) or uuid.uuid4())
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(requestId=request_id)
    try:
        config = _config(env)
        logs.configure(config.log_level)
        return _run(
            Parsed(envelope="inspect", inspect=True),
            config=config,
            context=context,
            env=env,
            vpc=vpc,
            clock=clock,
            rng=None,
            wall=wall,
            started=clock.monotonic(),
            request_id=request_id,
            http=False,
        )
    finally:
        structlog.contextvars.clear_contextvars()


def _run(
    parsed: Parsed,
    *,
    config: Config,
    context: Any,
    env: Mapping[str, str],
    vpc: VpcApi | None,
    clock: Any,
    rng: random.Random | None,
    wall: Callable[[], float],
    started: float,
    request_id: str,
    http: bool,
) -> dict[str, Any]:
    if parsed.inspect:  # never a call that changes anything, whatever the configuration says
        config = replace(config, dry_run=True)
    # A manual order without a ClientToken is its invocation: FC keeps the request id on its
    # own retries of that invocation, and every new order gets a new one. (Its parameters
    # alone would make an identical order weeks later replay the first one's answer.)
    parsed.signals = [
        replace(s, event_id=f"manual:{request_id}") if s.source == "manual" and s.client_token is None else s
        for s in parsed.signals
    ]
    default_region = config.region_id or _attr(context, "region") or None
    if parsed.warmup:
        # FC's timer with the payload "ping": keep the instance warm, no API call at all.
        result = _result(request_id, True, [], signals=parsed)
        result["note"] = 'warm-up ping (timer payload "ping"): no API call'
        log.info("havip.invocation", ok=True, warmup=True, elapsedMs=int((clock.monotonic() - started) * 1000))
        return result
    # HAVIP_DRY_RUN covers everything; a manual event's DryRun covers its own signal.
    dry_run = config.dry_run or (bool(parsed.signals) and all(s.dry_run for s in parsed.signals))
    budget = budget_seconds(config.wait_seconds, _function_timeout(context), clock.monotonic() - started)
    if http:
        budget = min(budget, HTTP_ANSWER_SECONDS)
    # A signal's own dry run (a health check's dryRun) also covers the failback check it triggers.
    lifecycle_dry = config.dry_run or any(s.dry_run for s in parsed.signals)
    lifecycle = LifecyclePolicy(
        config.ha_vip_ids, config.tag, config.failback, config.failback_hold, lifecycle_dry, bool(config.event_bus)
    )
    recovered = recovered_nodes(parsed.signals) if config.failback == "standby" else []
    needs_api = (
        any(s.state == "failed" for s in parsed.signals)
        or parsed.reconcile
        or parsed.inspect
        or parsed.drill is not None
        or recovered
    )
    if vpc is None and needs_api:
        creds = credentials_from(context, env)
        if creds is not None:
            logs.register_secret(creds.access_key_secret)
            logs.register_secret(creds.security_token)
        vpc = _sdk_vpc(config, creds)
    rules = Rules(
        force=config.force,
        allow_last_instance=config.allow_last_instance,
        require_survivor=config.require_survivor,
        cooldown=config.cooldown,
        hold=config.failback_hold,
    )
    api: VpcApi = vpc or _NoVpc()
    timed = Timed(api, clock.monotonic)  # a drill reports every call's time
    engine = Engine(
        timed.as_api() if parsed.drill else api,
        Policy(rules, config.dry_run, wait_for_completion=config.wait_seconds > 0),
        clock,
        Deadline(clock, budget),
        key=config.record_key,
        rng=rng,
        wall=wall,
    )

    def publish_events(reports: list[Report], lifecycle_run: LifecycleRun | None = None) -> dict[str, Any] | None:
        """What the invocation changed, on the operator's bus (HAVIP_EVENT_BUS) — after every act:
        publishing never delays a call, nor changes an outcome or `ok`."""
        if not config.event_bus or config.dry_run or parsed.inspect:
            return None
        outbox = Outbox(request_id, wall)
        outbox.decisions(reports)
        if lifecycle_run is not None and default_region is not None:
            outbox.reconciled(default_region, lifecycle_run)
        elapsed = clock.monotonic() - started
        seconds = budget_seconds(PUBLISH_SECONDS, _function_timeout(context), elapsed)
        if http:  # the HTTP answer is still due within HTTP_ANSWER_SECONDS
            seconds = max(0.0, min(seconds, HTTP_ANSWER_SECONDS - elapsed))
        region = default_region if parsed.drill is None else parsed.drill.region_id or default_region
        events = publish(
            outbox,
            engine.vpc,
            bus=config.event_bus,
            region=region,
            clock=clock,
            seconds=seconds,
            rng=rng,
        )
        scrubbed: dict[str, Any] = logs.scrub(events)
        return scrubbed

    if parsed.drill is not None:
        return _drill(
            parsed,
            engine,
            timed,
            publish_events,
            default_region=default_region,
            request_id=request_id,
            started=started,
            clock=clock,
        )
    resolver = Resolver(engine, config.ha_vip_ids, config.max_event_age)
    reports, intents = resolver.resolve((s, s.region_id or default_region) for s in parsed.signals)
    reports.extend(engine.drive(intents))
    lifecycle_run: LifecycleRun | None = None
    if parsed.reconcile or parsed.inspect or recovered:
        # The timer, inspect, or a recovery of a node (failback): the same engine, no event needed.
        reconciler = Reconciler(engine, lifecycle)
        if default_region is None:
            lifecycle_run = LifecycleRun(
                [], [], note="no region: set HAVIP_REGION_ID (or run in FC, which sets FC_REGION)"
            )
        else:
            try:
                # inspect: the reconcile in dry run (what it would do now), nothing changed
                lifecycle_run = reconciler.reconcile(default_region, only_nodes=recovered)
            except VpcError as err:
                lifecycle_run = LifecycleRun(
                    [], [], note=f"the managed HAVIPs could not be read: {err.code}: {err.message}"
                )
                lifecycle_run.error = error_dict(err)
        reports.extend(lifecycle_run.reports)
    ok = all(r.outcome.ok for r in reports)
    if lifecycle_run is not None and lifecycle_run.error is not None:
        ok = False
    result = _result(request_id, ok, reports, dry_run=dry_run, signals=parsed)
    if lifecycle_run is not None:
        result["pairs"] = logs.scrub([p.to_result() for p in lifecycle_run.pairs])
        result["degraded"] = sorted(p.havip.ha_vip_id for p in lifecycle_run.pairs if p.degraded)
        if lifecycle_run.note:
            result["note"] = lifecycle_run.note
        if lifecycle_run.error:
            result["error"] = lifecycle_run.error
    events = publish_events(reports, lifecycle_run)
    if events is not None:
        result["events"] = events
    log.info(
        "havip.invocation",
        eventId=parsed.signals[0].event_id if len(parsed.signals) == 1 else None,
        eventIds=[s.event_id for s in parsed.signals],
        ok=ok,
        dryRun=dry_run,
        outcomes=[r.outcome.value for r in reports],
        elapsedMs=int((clock.monotonic() - started) * 1000),
    )
    return result


def _drill(
    parsed: Parsed,
    engine: Engine,
    timed: Timed,
    publish_events: Callable[[list[Report]], dict[str, Any] | None],
    *,
    default_region: str | None,
    request_id: str,
    started: float,
    clock: Any,
) -> dict[str, Any]:
    """A drill order: its two decisions in `results`, the drill itself (steps, timings,
    permissions) in `drill`; ok only when it was carried out (or planned, in a dry run)."""
    order = parsed.drill
    assert order is not None
    region = order.region_id or default_region
    if region is None:
        error = {"code": "MissingRegion", "message": "the order names no region and FC_REGION is not set"}
        return _result(request_id, False, [], signals=parsed, error=error)
    run = run_drill(engine, timed, order, region, f"drill:{request_id}")
    events = publish_events(run.reports)  # through the timed API: the drill proves this permission too
    run.calls = list(timed.calls)
    result = _result(request_id, run.ok, run.reports, dry_run=order.dry_run or engine.policy.dry_run, signals=parsed)
    result["drill"] = logs.scrub(run.to_result())
    if events is not None:
        result["events"] = events
    level = log.info if run.ok else log.warning
    level("havip.drill", **result["drill"], elapsedMs=int((clock.monotonic() - started) * 1000))
    return result


class _NoVpc:
    """Stands in when no signal needs the API (recoveries, informational events)."""

    def describe_ha_vips(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no VPC call is needed for this invocation")

    unassociate_ha_vip = associate_ha_vip = tag_resources = untag_resources = list_tag_resources = describe_ha_vips
    describe_instance_status = describe_network_interfaces = put_events = describe_ha_vips


def _result(
    request_id: str,
    ok: bool,
    reports: list[Report],
    *,
    dry_run: bool = False,
    signals: Parsed | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    # A batch element that could not be read is input lost: the invocation is not ok,
    # though every readable element was handled (`rejected` says which and why).
    rejected = signals.rejected if signals else []
    result = {
        "ok": ok and not rejected,
        "dryRun": dry_run,
        "requestId": request_id,
        "signals": [
            {
                "source": s.source,
                "eventId": s.event_id,
                "instanceId": s.instance_id,
                "state": s.state,
                "haVipId": s.ha_vip_id,
                "regionId": s.region_id,
                "detail": s.detail,
                "eventTime": s.event_time,
                # for people, beside the machine's epoch seconds
                "eventAt": iso(s.event_time) if s.event_time is not None else None,
            }
            for s in (signals.signals if signals else [])
        ],
        "results": [r.to_result() for r in reports],
        # Always present (possibly empty), so consumers can rely on them.
        "ignored": [
            {"code": i.code, "message": i.message, "subject": i.subject, "index": i.index}
            for i in (signals.ignored if signals else [])
        ],
        "rejected": [{"index": r.index, "code": r.code, "message": r.message} for r in rejected],
        "error": error,
    }
    scrubbed: dict[str, Any] = logs.scrub(result)
    return scrubbed


def _error(err: BadEvent) -> dict[str, Any]:
    return {"code": err.code, "message": err.message}


def _status(result: dict[str, Any]) -> int:
    """The HTTP status of a handled request: 200 ok (ignored-only included), 202 only
    `pending`, 500 something `failed`, 400 when the only problem is rejected batch
    elements (the readable ones were handled)."""
    outcomes = {r["outcome"] for r in result["results"]}
    if result["ok"]:
        return 200
    if "failed" in outcomes:
        return 500
    if "pending" in outcomes:
        return 202
    return 400 if result["rejected"] else 500


def _http_response(status: int, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json; charset=utf-8"},
        "body": json.dumps(result, ensure_ascii=False),
        "isBase64Encoded": False,
    }


def _as_bytes(event: Any) -> bytes:
    if isinstance(event, (bytes, bytearray, memoryview)):
        return bytes(event)
    if isinstance(event, str):
        return event.encode("utf-8", "surrogatepass")
    # Not what FC sends, but a script calling handler() with a dict should still work.
    try:
        return json.dumps(event).encode()
    except (TypeError, ValueError) as exc:
        raise BadEvent("UnreadableEvent", f"the event is {type(event).__name__}, not bytes or JSON") from exc


def _looks_http(event: Any) -> bool:
    try:
        head = _as_bytes(event)[:4096]
    except (TypeError, ValueError):
        return False
    return b'"requestContext"' in head or b'"rawPath"' in head
