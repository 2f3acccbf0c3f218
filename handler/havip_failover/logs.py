"""structlog, configured once: JSON lines on stdout (FC ships stdout to SLS), a readable
rendering on a terminal, and a last processor that keeps secrets out of every line."""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys whose values are secrets wherever they appear (ClientToken is an idempotency key, not a secret).
SECRET_KEY_RE = re.compile(
    r"(secret|password|securitytoken|security_token|signature|authorization|callbacktoken)", re.I
)
SAFE_KEYS = frozenset({"clientToken", "callbackTokenSet"})
REDACTED = "***"

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_configured_level: int | None = None


def register_secret(value: str | None) -> None:
    """Values (AccessKey secret, STS token, callback token) to blank out of any log line."""
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: (REDACTED if _is_secret_key(k) else scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key not in SAFE_KEYS and bool(SECRET_KEY_RE.search(key))


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if _is_secret_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = scrub(event_dict[key])
    return event_dict


class _StdoutLogger:
    """Writes each line to the *current* sys.stdout (tests swap it) and flushes: FC may
    freeze the instance right after the handler returns, with a buffer still unwritten."""

    def msg(self, message: str) -> None:
        out = sys.stdout
        out.write(message + "\n")
        out.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _logger_factory(*_args: Any) -> _StdoutLogger:
    return _StdoutLogger()


def configure(level: str = "INFO", *, force: bool = False) -> None:
    """Configure structlog for the process; a later call only changes the level."""
    global _configured_level
    found = logging.getLevelName(level.upper())
    numeric = found if isinstance(found, int) else logging.INFO
    if _configured_level == numeric and not force:
        return
    pretty = sys.stdout.isatty()
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=True)
        if pretty
        else structlog.processors.JSONRenderer(ensure_ascii=False, default=str)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_logger_factory,
        cache_logger_on_first_use=False,
    )
    _configured_level = numeric
