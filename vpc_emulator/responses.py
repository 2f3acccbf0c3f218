"""The thin per-action layer: request signature, parameters → backend calls → JSON bodies.

The signature check rebuilds the ACS3-HMAC-SHA256 canonical request exactly as
alibabacloud-tea-openapi's ``Utils.get_authorization`` builds it:

    METHOD \\n pathname \\n canonical-query \\n canonical-headers \\n signed-headers \\n hex(sha256(body))

canonical-query: the (decoded) query keys sorted, ``key=quote(value, safe='~')`` joined by
``&`` (keys are not re-encoded); canonical-headers: each signed header, lowercased, as
``name:value\\n`` (values stripped, repeated headers joined by ``,``) in sorted order.
string-to-sign = ``"ACS3-HMAC-SHA256\\n" + hex(sha256(canonical-request))``; signature =
``hex(hmac_sha256(secret, string-to-sign))``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from .models import VpcApiError, VpcBackend

API_VERSION = "2016-04-28"
ECS_API_VERSION = "2014-05-26"
SIGNATURE_ALGORITHM = "ACS3-HMAC-SHA256"
JSON_CONTENT_TYPE = "application/json;charset=utf-8"
DEFAULT_CREDENTIALS: dict[str, tuple[str, str | None]] = {"LTAIemulatorKey": ("emulator-secret", None)}
NONCE_TTL = 900.0

_AUTH_RE = re.compile(
    r"^(?P<alg>[A-Z0-9-]+) Credential=(?P<ak>[^,\s]+),\s*SignedHeaders=(?P<sh>[^,\s]*),"
    r"\s*Signature=(?P<sig>[0-9a-fA-F]+)$"
)
_FILTER_KEY_RE = re.compile(r"^Filter\.(\d+)\.Key$")
_FILTER_VALUE_RE = re.compile(r"^Filter\.(\d+)\.Value\.(\d+)$")
_LIST_RE_CACHE: dict[str, re.Pattern[str]] = {}


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def error_body(code: str, message: str, request_id: str, host_id: str) -> dict[str, str]:
    return {
        "RequestId": request_id,
        "HostId": host_id,
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Vpc&requestId={request_id}",
    }


# ---------------------------------------------------------------------- signing


def canonical_query_string(pairs: Iterable[tuple[str, str]]) -> str:
    items = sorted(pairs, key=lambda kv: kv[0])
    return "&".join(f"{k}={quote(v, safe='~', encoding='utf-8')}" for k, v in items)


def canonical_headers(headers: Sequence[tuple[str, str]], signed: Sequence[str]) -> str:
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value.strip())
    out = []
    for name in sorted(signed):
        out.append(f"{name}:{','.join(sorted(values.get(name, [])))}\n")
    return "".join(out)


def canonical_request(  # noqa: PLR0917 - the six parts of the canonical request
    method: str,
    path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Sequence[tuple[str, str]],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    return (
        f"{method}\n{path or '/'}\n{canonical_query_string(query_pairs)}\n"
        f"{canonical_headers(headers, signed_headers)}\n"
        f"{';'.join(sorted(signed_headers))}\n{payload_hash}"
    )


def signature(secret: str, canonical: str) -> str:
    to_sign = f"{SIGNATURE_ALGORITHM}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
    return hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_headers(
    method: str,
    path: str,
    query_pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key_id: str,
    secret: str,
) -> dict[str, str]:
    """Headers for a request signed as the SDK signs it (for tests and tools).

    `headers` should hold host, x-acs-action, x-acs-version, x-acs-date and
    x-acs-signature-nonce; x-acs-content-sha256 and Authorization are added.
    """
    out = {k.lower(): v for k, v in headers.items()}
    payload = hashlib.sha256(body).hexdigest()
    out["x-acs-content-sha256"] = payload
    signed = sorted(out)
    canonical = canonical_request(method, path, query_pairs, list(out.items()), signed, payload)
    out["authorization"] = (
        f"{SIGNATURE_ALGORITHM} Credential={access_key_id},SignedHeaders={';'.join(signed)},"
        f"Signature={signature(secret, canonical)}"
    )
    return out


@dataclass
class ApiRequest:
    """An API request as received: method, path, raw query, headers, body."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    def params(self) -> dict[str, str]:
        """Parameters from the query string, then from a form body (query wins)."""
        out: dict[str, str] = {}
        content_type = (self.header("content-type") or "").lower()
        if self.body and content_type.startswith("application/x-www-form-urlencoded"):
            for key, value in parse_qsl(self.body.decode("utf-8", errors="replace"), keep_blank_values=True):
                out[key] = value
        for key, value in self.query_pairs:
            out[key] = value
        return out


class Authenticator:
    """Checks ACS3-HMAC-SHA256 signatures against configured credentials."""

    def __init__(
        self,
        credentials: Mapping[str, tuple[str, str | None]] | None = None,
        max_clock_skew: float | None = 900.0,
        check_nonce: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials: dict[str, tuple[str, str | None]] = dict(
            DEFAULT_CREDENTIALS if credentials is None else credentials
        )
        self.max_clock_skew = max_clock_skew
        self.check_nonce = check_nonce
        self._clock = clock
        self._nonces: dict[str, float] = {}
        self._lock = threading.Lock()

    def clear_nonces(self) -> None:
        with self._lock:
            self._nonces.clear()

    def authenticate(self, req: ApiRequest) -> str:
        """The AccessKeyId of a correctly signed request; VpcApiError otherwise."""
        auth = req.header("authorization")
        if not auth:
            raise VpcApiError(400, "MissingAuthorization", "Authorization is mandatory for this action.")
        alg = auth.split(" ", 1)[0]
        if alg != SIGNATURE_ALGORITHM:
            raise VpcApiError(
                400,
                "InvalidSignatureMethod",
                f"Specified signature method {alg} is not supported: use {SIGNATURE_ALGORITHM}.",
            )
        match = _AUTH_RE.match(auth.strip())
        if match is None:
            raise VpcApiError(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards: malformed Authorization header.",
            )
        ak = match.group("ak")
        signed = [h for h in match.group("sh").split(";") if h]
        creds = self.credentials.get(ak)
        if creds is None:
            raise VpcApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        secret, token = creds
        self._check_security_token(req, ak, token)
        received_hash = req.header("x-acs-content-sha256")
        body_hash = hashlib.sha256(req.body).hexdigest()
        if received_hash is None or received_hash.lower() != body_hash:
            raise VpcApiError(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards: "
                "x-acs-content-sha256 does not match the request body.",
            )
        present = {name.lower() for name, _ in req.headers}
        required = {"host"} | {n for n in present if n.startswith("x-acs-") and n != "x-acs-signature"}
        if not required <= set(signed) or not set(signed) <= present:
            raise VpcApiError(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards: SignedHeaders "
                "must list host and every x-acs-* header, and only headers sent.",
            )
        canonical = canonical_request(req.method, req.path, req.query_pairs, req.headers, signed, received_hash.lower())
        expected = signature(secret, canonical)
        if not hmac.compare_digest(expected, match.group("sig").lower()):
            raise VpcApiError(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            )
        self._check_date(req)
        self._check_nonce(req)
        return ak

    def _check_security_token(self, req: ApiRequest, ak: str, token: str | None) -> None:
        received = req.header("x-acs-security-token")
        if token is None:
            if received:
                raise VpcApiError(
                    400,
                    "InvalidSecurityToken.Malformed",
                    "Specified SecurityToken is malformed.",
                )
            return
        if not received:
            raise VpcApiError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
        header_ak = req.header("x-acs-accesskey-id")
        if not hmac.compare_digest(received.encode(), token.encode()) or (header_ak is not None and header_ak != ak):
            raise VpcApiError(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            )

    def _check_date(self, req: ApiRequest) -> None:
        if self.max_clock_skew is None:
            return
        raw = req.header("x-acs-date")
        if not raw:
            raise VpcApiError(400, "MissingTimestamp", "x-acs-date is mandatory for this action.")
        try:
            when = datetime.datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise VpcApiError(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            ) from None
        skew = abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds())
        if skew > self.max_clock_skew:
            raise VpcApiError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")

    def _check_nonce(self, req: ApiRequest) -> None:
        if not self.check_nonce:
            return
        nonce = req.header("x-acs-signature-nonce")
        if not nonce:
            raise VpcApiError(
                400,
                "MissingSignatureNonce",
                "SignatureNonce is mandatory for this action.",
            )
        now = self._clock()
        with self._lock:
            if len(self._nonces) > 10000:
                cutoff = now - NONCE_TTL
                self._nonces = {n: t for n, t in self._nonces.items() if t >= cutoff}
            seen = self._nonces.get(nonce)
            if seen is not None and now - seen < NONCE_TTL:
                raise VpcApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces[nonce] = now


# ---------------------------------------------------------------------- actions


def parse_filters(params: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """`Filter.N.Key` / `Filter.N.Value.M` → [(key, [values…])] ordered by N."""
    keys: dict[int, str] = {}
    values: dict[int, list[tuple[int, str]]] = {}
    for name, value in params.items():
        m = _FILTER_KEY_RE.match(name)
        if m:
            keys[int(m.group(1))] = value
            continue
        m = _FILTER_VALUE_RE.match(name)
        if m:
            values.setdefault(int(m.group(1)), []).append((int(m.group(2)), value))
    return [(keys[n], [v for _, v in sorted(values.get(n, []))]) for n in sorted(keys)]


def parse_list(params: Mapping[str, str], prefix: str) -> list[str]:
    """`Prefix.N` → [values…] ordered by N (ResourceId.N, TagKey.N, InstanceId.N …)."""
    pattern = _LIST_RE_CACHE.setdefault(prefix, re.compile(rf"^{re.escape(prefix)}\.(\d+)$"))
    found = [(int(m.group(1)), v) for k, v in params.items() if (m := pattern.match(k))]
    return [v for _, v in sorted(found)]


def parse_tags(params: Mapping[str, str], prefix: str) -> list[tuple[str, str | None]]:
    """`Prefix.N.Key` / `Prefix.N.Value` → [(key, value or None)] ordered by N."""
    keys = dict(
        (int(m.group(1)), v) for k, v in params.items() if (m := re.match(rf"^{re.escape(prefix)}\.(\d+)\.Key$", k))
    )
    values = dict(
        (int(m.group(1)), v) for k, v in params.items() if (m := re.match(rf"^{re.escape(prefix)}\.(\d+)\.Value$", k))
    )
    return [(keys[n], values.get(n)) for n in sorted(keys)]


# Each action with its API version: VPC and ECS are served on one endpoint, told apart by action.
ACTION_VERSIONS = {
    "DescribeHaVips": API_VERSION,
    "UnassociateHaVip": API_VERSION,
    "AssociateHaVip": API_VERSION,
    "TagResources": API_VERSION,
    "UnTagResources": API_VERSION,
    "ListTagResources": API_VERSION,
    "DescribeInstanceStatus": ECS_API_VERSION,
    "DescribeNetworkInterfaces": ECS_API_VERSION,
}


class VpcResponses:
    """Dispatches an authenticated action to the backend; returns the JSON body."""

    def __init__(self, backend: VpcBackend) -> None:
        self.backend = backend
        self._actions: dict[str, Callable[[dict[str, str], str, float], dict[str, Any]]] = {
            "DescribeHaVips": self.describe_ha_vips,
            "UnassociateHaVip": self.unassociate_ha_vip,
            "AssociateHaVip": self.associate_ha_vip,
            "TagResources": self.tag_resources,
            "UnTagResources": self.untag_resources,
            "ListTagResources": self.list_tag_resources,
            "DescribeInstanceStatus": self.describe_instance_status,
            "DescribeNetworkInterfaces": self.describe_network_interfaces,
        }

    @property
    def actions(self) -> list[str]:
        return sorted(self._actions)

    def check_action(self, action: str | None, version: str | None) -> str:
        if not action:
            raise VpcApiError(400, "MissingAction", "Action is mandatory for this action.")
        if not version:
            raise VpcApiError(400, "MissingVersion", "Version is mandatory for this action.")
        # The endpoint of the action's product answers: a VPC action with ECS's version is
        # InvalidVersion, as the VPC endpoint would say.
        expected = ACTION_VERSIONS.get(action)
        if version not in (API_VERSION, ECS_API_VERSION) or (expected is not None and version != expected):
            raise VpcApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if action not in self._actions:
            raise VpcApiError(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        return action

    def dispatch(self, action: str, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        """The JSON body; `lag` > 0 answers a describe from the state of that many seconds ago."""
        return self._actions[action](params, request_id, lag)

    def describe_ha_vips(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        result = self.backend.describe_ha_vips(
            params.get("RegionId"),
            parse_filters(params),
            params.get("PageNumber"),
            params.get("PageSize"),
            parse_tags(params, "Tags"),
            lag=lag,
        )
        return {"RequestId": request_id, **result}

    def tag_resources(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        self.backend.tag_resources(
            params.get("RegionId"),
            params.get("ResourceType"),
            parse_list(params, "ResourceId"),
            [(k, v or "") for k, v in parse_tags(params, "Tag")],
        )
        return {"RequestId": request_id}

    def untag_resources(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        self.backend.untag_resources(
            params.get("RegionId"),
            params.get("ResourceType"),
            parse_list(params, "ResourceId"),
            parse_list(params, "TagKey"),
            params.get("All"),
        )
        return {"RequestId": request_id}

    def list_tag_resources(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        result = self.backend.list_tag_resources(
            params.get("RegionId"),
            params.get("ResourceType"),
            parse_list(params, "ResourceId"),
            parse_tags(params, "Tag"),
            max_results=params.get("MaxResults"),
            next_token=params.get("NextToken"),
        )
        return {"RequestId": request_id, **result}

    def describe_instance_status(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        result = self.backend.describe_instance_status(
            params.get("RegionId"),
            parse_list(params, "InstanceId"),
            params.get("PageNumber"),
            params.get("PageSize"),
            lag=lag,
        )
        return {"RequestId": request_id, **result}

    def describe_network_interfaces(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        result = self.backend.describe_network_interfaces(
            params.get("RegionId"),
            parse_list(params, "NetworkInterfaceId"),
            params.get("PageNumber"),
            params.get("PageSize"),
            lag=lag,
        )
        return {"RequestId": request_id, **result}

    def unassociate_ha_vip(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        rid = self.backend.unassociate_ha_vip(
            request_id,
            region_id=params.get("RegionId"),
            ha_vip_id=params.get("HaVipId"),
            instance_id=params.get("InstanceId"),
            client_token=params.get("ClientToken"),
            force=params.get("Force"),
            instance_type=params.get("InstanceType"),
        )
        return {"RequestId": rid}

    def associate_ha_vip(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        rid = self.backend.associate_ha_vip(
            request_id,
            region_id=params.get("RegionId"),
            ha_vip_id=params.get("HaVipId"),
            instance_id=params.get("InstanceId"),
            client_token=params.get("ClientToken"),
            instance_type=params.get("InstanceType"),
        )
        return {"RequestId": rid}
