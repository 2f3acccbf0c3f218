"""Validation helpers shared by the event-source parsers.

Every helper either returns a clean, validated value or raises `BadEvent` with a
code and a message that names the offending field and shows a short, sanitised
repr of the bad value (never more than `REPR_LIMIT` characters, control and
format characters removed), so a rejection can be logged and returned as is.
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import json
import math
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import NoReturn

from havip_failover.ids import ENI_ID_RE, HAVIP_ID_RE, INSTANCE_ID_RE, REGION_RE
from havip_failover.model import BadEvent

# Absurd input is refused before any real work: FC events are a few KiB at most.
MAX_EVENT_BYTES = 1024 * 1024
# JSON nesting deeper than this is refused before `json.loads` sees it (the deepest
# real event, an HTTP body holding an EventBridge batch, is about 6 levels).
MAX_JSON_DEPTH = 32
# Longest repr of a bad value shown in a message.
REPR_LIMIT = 60
# Form bodies with more fields than this are refused (CloudMonitor sends ~25).
MAX_FORM_FIELDS = 200

# The id shapes are shared with the configuration (havip_failover.ids); always used
# with fullmatch, so a trailing newline never slips through `$`.
_INSTANCE_RE = INSTANCE_ID_RE
_ENI_RE = ENI_ID_RE
_HAVIP_RE = HAVIP_ID_RE
_REGION_RE = REGION_RE
_REGION_MAX_LEN = 64
# Characters kept verbatim in the parts of an event id; anything else is hashed.
_ID_PART_RE = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
# Characters that matter to the JSON nesting pre-scan.
_JSON_SCAN_RE = re.compile(r'["\\\[\]{}]')


def fail(code: str, message: str) -> NoReturn:
    """Raise the one exception parsers may raise for bad input."""
    raise BadEvent(code, message)


def suggest(key: str, choices: Iterable[str]) -> str | None:
    """The accepted key a mistyped one most likely meant, if any."""
    choices = list(choices)
    by_lower = {choice.lower(): choice for choice in choices}
    if key.lower() in by_lower:
        return by_lower[key.lower()]
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.75)
    return close[0] if close else None


def reject_typos(obj: Mapping[str, object], known: Iterable[str], what: str) -> None:
    """Reject keys that look like a misspelt known key (`HavipId`, `consecutivefailures`):
    silently ignoring one would act on a default the sender did not mean. Other extra
    keys (a note, a reason, a checker's own metadata) are ignored."""
    known = tuple(known)
    typos = []
    for key in sorted(k for k in obj if k not in known):
        hint = suggest(key, known)
        if hint is not None:
            typos.append(f"{safe_repr(key)} (did you mean {hint!r}?)")
    if typos:
        fail("UnknownParameter", f"unknown {what} parameter(s) {', '.join(typos[:10])}; accepted: {', '.join(known)}")


def clean_text(text: str, limit: int | None = None) -> str:
    """Drop control, format and surrogate characters; optionally truncate with '...'."""
    cleaned = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: max(limit - 3, 0)] + "..."
    return cleaned


def safe_repr(value: object) -> str:
    """A short, printable repr of an untrusted value, for error messages."""
    if isinstance(value, dict):
        return f"<object with {len(value)} keys>"
    if isinstance(value, list):
        return f"<array of {len(value)} items>"
    if isinstance(value, str) and len(value) > 4 * REPR_LIMIT:
        value = value[: 4 * REPR_LIMIT]  # no need to repr megabytes
        return clean_text(repr(value)[:-1] + "...", REPR_LIMIT)
    return clean_text(repr(value), REPR_LIMIT)


def json_type(value: object) -> str:
    """The JSON name of a value's type, for 'expected X, got Y' messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_absent(value: object) -> bool:
    """None, an empty/blank string, or the literal string 'null' (CloudMonitor's quirk)."""
    if value is None:
        return True
    if isinstance(value, str):
        stripped = value.strip()
        return stripped == "" or stripped.lower() == "null"
    return False


def id_part(text: str) -> str:
    """A component of an event id: kept if short and plain, else a stable hash of it."""
    if _ID_PART_RE.fullmatch(text):
        return text
    return "h" + sha256_hex(text)[:16]


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def canonical_json(value: object) -> str:
    """Deterministic JSON text of already-validated plain values (for hashing)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# --------------------------------------------------------------------------- decoding


def decode_text(raw: bytes, what: str, charset: str = "utf-8") -> str:
    """Decode bytes (a UTF-8 BOM is tolerated); undecodable bytes are a BadEvent."""
    codec = "utf-8-sig" if charset.lower().replace("_", "-") in ("utf-8", "utf8") else charset
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        fail(
            "InvalidEncoding",
            f"{what} is not valid {charset}: undecodable byte at offset {exc.start}",
        )
    except LookupError:
        fail("UnsupportedCharset", f"{what} declares an unknown charset {safe_repr(charset)}")


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _too_deep(text: str, limit: int) -> bool:
    """True when JSON `text` nests arrays/objects deeper than `limit`.

    A linear scan over the characters that matter (quotes, backslashes, brackets),
    aware of strings and escapes, so `json.loads` never recurses on hostile input.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _JSON_SCAN_RE.finditer(text):
        pos = match.start()
        if pos == escaped_at:
            continue
        char = match.group()
        if in_string:
            if char == "\\":
                escaped_at = pos + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def load_json(text: str, what: str) -> object:
    """Parse JSON strictly: no NaN/Infinity, no duplicate keys, bounded nesting."""
    if _too_deep(text, MAX_JSON_DEPTH):
        fail("NestingTooDeep", f"{what} nests arrays/objects deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
        )
    except _DuplicateKeyError as exc:
        fail("DuplicateKey", f"{what} repeats the key {safe_repr(exc.key)}")
    except json.JSONDecodeError as exc:
        fail(
            "InvalidJson",
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        )
    except RecursionError:
        fail("NestingTooDeep", f"{what} nests arrays/objects too deeply")
    except ValueError as exc:  # NaN/Infinity, integers beyond the int-digits limit
        fail("InvalidJson", f"{what} is not valid JSON: {clean_text(str(exc), 120)}")


def parse_form(text: str, what: str, charset: str = "utf-8") -> dict[str, str]:
    """Parse an application/x-www-form-urlencoded body into a flat dict.

    A field repeated with the same value is harmless; repeated with different values
    it is ambiguous and refused.
    """
    try:
        pairs = urllib.parse.parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding=charset,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        fail("InvalidForm", f"{what} has percent-encoded bytes that are not valid {charset}")
    except LookupError:
        fail("UnsupportedCharset", f"{what} declares an unknown charset {safe_repr(charset)}")
    except ValueError:
        fail("InvalidForm", f"{what} has more than {MAX_FORM_FIELDS} fields")
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields and fields[key] != value:
            fail("InvalidForm", f"{what} repeats the field {safe_repr(key)} with different values")
        fields[key] = value
    return fields


# --------------------------------------------------------------------------- fields


def get_ci(mapping: Mapping[str, object], name: str) -> tuple[str, object] | None:
    """Case-insensitive lookup: the exact key wins, else the single key equal ignoring case.

    Several keys differing only in case with different values are ambiguous: BadEvent.
    """
    if name in mapping:
        return name, mapping[name]
    lowered = name.lower()
    found = [(key, value) for key, value in mapping.items() if key.lower() == lowered]
    if not found:
        return None
    if len({canonical_json(value) for _, value in found}) > 1:
        keys = ", ".join(safe_repr(key) for key, _ in found)
        fail("InvalidParameter", f"ambiguous keys {keys}: they differ only in case")
    return found[0]


def require_mapping(value: object, field: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        fail("InvalidParameter", f"{field} must be an object, got {json_type(value)}")
    return value


def optional_str(mapping: Mapping[str, object], key: str, field: str) -> str | None:
    """A string field; None when absent, null, blank or the string 'null'."""
    value = mapping.get(key)
    if is_absent(value):
        return None
    if not isinstance(value, str):
        fail("InvalidParameter", f"{field} must be a string, got {json_type(value)}")
    return value


def require_str(mapping: Mapping[str, object], key: str, field: str) -> str:
    value = optional_str(mapping, key, field)
    if value is None:
        fail("MissingParameter", f"{field} is required")
    return value


def scalar_text(value: object, field: str) -> str | None:
    """A scalar (string or number) as text; None when absent. Objects/arrays/booleans: BadEvent."""
    if is_absent(value):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail("InvalidParameter", f"{field} must be a string or a number, got {json_type(value)}")
    return str(value)


def parse_bool(value: object, field: str) -> bool:
    """A JSON boolean, or the strings 'true'/'false' in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    fail("InvalidParameter", f"{field} must be true or false, got {safe_repr(value)}")


# --------------------------------------------------------------------------- ids


def _require_text(value: object, field: str, code: str) -> str:
    if not isinstance(value, str):
        fail(code, f"{field} must be a string, got {json_type(value)} {safe_repr(value)}")
    return value


def instance_id(value: object, field: str) -> str:
    """An ECS instance id (`i-…`) or an ENI id (`eni-…`)."""
    text = _require_text(value, field, "InvalidInstanceId")
    if _INSTANCE_RE.fullmatch(text) or _ENI_RE.fullmatch(text):
        return text
    fail(
        "InvalidInstanceId",
        f"{field} must be an ECS instance id (i-…) or an ENI id (eni-…), got {safe_repr(value)}",
    )


def is_instance_id(text: str) -> bool:
    return bool(_INSTANCE_RE.fullmatch(text) or _ENI_RE.fullmatch(text))


def is_eni(instance: str) -> bool:
    return instance.startswith("eni-")


def havip_id(value: object, field: str) -> str:
    text = _require_text(value, field, "InvalidHaVipId")
    if _HAVIP_RE.fullmatch(text):
        return text
    fail("InvalidHaVipId", f"{field} must be a HAVIP id (havip-…), got {safe_repr(value)}")


def region_id(value: object, field: str) -> str:
    text = _require_text(value, field, "InvalidRegionId")
    if len(text) <= _REGION_MAX_LEN and _REGION_RE.fullmatch(text):
        return text
    fail("InvalidRegionId", f"{field} must be a region id like cn-hangzhou, got {safe_repr(value)}")


def optional_region(value: object, field: str) -> str | None:
    return None if is_absent(value) else region_id(value, field)


def optional_havip(value: object, field: str) -> str | None:
    return None if is_absent(value) else havip_id(value, field)


# --------------------------------------------------------------------------- times
#
# Every source but the manual one says when its event happened. These readers never
# reject: a time they cannot read is None (the event is judged on its content alone).

_SECONDS_BELOW = 10**11  # epoch numbers below this are seconds (1e11 s is year 5138; 1e11 ms is 1973)
_MAX_EPOCH_SECONDS = 10**11
# ISO 8601 / RFC 3339 as the CloudEvent `time` and health checks carry it.
_ISO_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d{1,9})?"
    r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?"
)
# The ECS notification's eventTime: 20190409T121826.922+0800.
_ECS_TIME_RE = re.compile(r"(?P<date>\d{8})T(?P<time>\d{6})(?P<frac>\.\d{1,9})?(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?")


def epoch_seconds(value: object) -> float | None:
    """Epoch seconds or milliseconds (a number or a string of digits) -> seconds."""
    number: float | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and value.strip().isascii():
        try:
            number = float(value.strip())
        except ValueError:
            return None
    if number is None or math.isnan(number) or number < 0:
        return None
    if number >= _SECONDS_BELOW:
        number /= 1000.0
    return number if number < _MAX_EPOCH_SECONDS else None


def iso_seconds(value: object) -> float | None:
    """An ISO 8601 / RFC 3339 timestamp (UTC when it names no zone) -> epoch seconds."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    match = _ISO_RE.fullmatch(value.strip())
    if match is None:
        return None
    return _to_epoch(match.group("date").replace("-", ""), match.group("time").replace(":", ""), match)


def ecs_time_seconds(value: object) -> float | None:
    """The ECS notification's `eventTime` (`20190409T121826.922+0800`; ISO 8601 also read)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    match = _ECS_TIME_RE.fullmatch(value.strip())
    if match is None:
        return iso_seconds(value)
    return _to_epoch(match.group("date"), match.group("time"), match)


def _to_epoch(date: str, clock: str, match: re.Match[str]) -> float | None:
    zone_text = match.group("zone")
    try:
        zone = datetime.timezone.utc
        if zone_text and zone_text not in ("Z", "z"):
            sign = -1 if zone_text[0] == "-" else 1
            digits = zone_text[1:].replace(":", "")
            zone = datetime.timezone(sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        moment = datetime.datetime(
            int(date[:4]), int(date[4:6]), int(date[6:8]), int(clock[:2]), int(clock[2:4]), int(clock[4:6]), tzinfo=zone
        )
    except ValueError:
        return None
    fraction = float(match.group("frac")) if match.group("frac") else 0.0
    return moment.timestamp() + fraction
