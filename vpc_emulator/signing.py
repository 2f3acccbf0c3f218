"""Request signatures, as the real API gateway checks them, for any action of any product.

Three schemes are accepted, told apart by what the request carries:

- **ACS3-HMAC-SHA256** and **ACS3-HMAC-SM3** (``Authorization`` header; the current SDKs,
  e.g. alibabacloud-tea-openapi and @alicloud/openapi-core). The canonical request is built
  exactly as tea-openapi's ``Utils.get_authorization`` builds it::

      METHOD \\n pathname \\n canonical-query \\n canonical-headers \\n signed-headers \\n hex(hash(body))

  canonical-query: the (decoded) query keys sorted, ``key=quote(value, safe='~')`` joined by
  ``&``; canonical-headers: each signed header, lowercased, ``name:value\\n`` (values stripped,
  repeated headers joined by ``,``) in sorted order. string-to-sign = ``ALGORITHM\\n`` +
  ``hex(hash(canonical-request))``; signature = ``hex(hmac(secret, string-to-sign))``, hash
  SHA-256 or SM3. Every SDK sends the body hash in ``x-acs-content-sha256``, whatever the hash.
- **v2, HMAC-SHA1** (``Signature`` among the query or form parameters; aliyun-python-sdk-core,
  @alicloud/pop-core, and the current SDKs with ``signature_algorithm='v2'``): every parameter
  but ``Signature``, keys and values percent-encoded (RFC 3986), sorted, ``k=v`` joined by ``&``;
  string-to-sign = ``METHOD&%2F&`` + percent-encode(that); signature =
  ``base64(hmac_sha1(secret + '&', string-to-sign))``.

A signature error quotes the server's string to sign, as the real gateway does: legacy
clients compare it with their own (aliyun-python-sdk-core turns an equal one into
``InvalidAccessKeySecret``) and fail on a message without it. Nothing here depends on the
action or the product: the same checks serve VPC and ECS.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import parse_qsl, quote

from .models import VpcApiError
from .sm3 import hmac_sm3, sm3

ACS3_SHA256 = "ACS3-HMAC-SHA256"
ACS3_SM3 = "ACS3-HMAC-SM3"
ACS3_ALGORITHMS = (ACS3_SHA256, ACS3_SM3)
V2_METHOD = "HMAC-SHA1"
V2_VERSION = "1.0"
# Back-compatible name: the default ACS3 algorithm.
SIGNATURE_ALGORITHM = ACS3_SHA256
DEFAULT_CREDENTIALS: dict[str, tuple[str, str | None]] = {"LTAIemulatorKey": ("emulator-secret", None)}
NONCE_TTL = 900.0  # seconds a SignatureNonce stays used: the gateway's 15 minutes
DEFAULT_MAX_CLOCK_SKEW = 900.0  # seconds a Timestamp / x-acs-date may be off, either way
# v2 protocol parameters: not the action's own, so not passed to it (nor journalled: a
# SecurityToken is a secret).
V2_COMMON_PARAMETERS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "SecurityToken",
    }
)

_AUTH_RE = re.compile(
    r"^(?P<alg>[A-Z0-9-]+) Credential=(?P<ak>[^,\s]+),\s*SignedHeaders=(?P<sh>[^,\s]*),"
    r"\s*Signature=(?P<sig>[0-9a-fA-F]+)$"
)
_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")
_NOT_MATCHED = "Specified signature is not matched with our calculation."


# ---------------------------------------------------------------------- the request


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


def action_params(params: Mapping[str, str]) -> dict[str, str]:
    """The action's own parameters: `params` without v2's protocol parameters."""
    return {k: v for k, v in params.items() if k not in V2_COMMON_PARAMETERS}


# ---------------------------------------------------------------------- ACS3


def _hash(algorithm: str, data: bytes) -> str:
    return sm3(data).hex() if algorithm == ACS3_SM3 else hashlib.sha256(data).hexdigest()


def _hmac(algorithm: str, secret: str, data: str) -> str:
    key, msg = secret.encode("utf-8"), data.encode("utf-8")
    if algorithm == ACS3_SM3:
        return hmac_sm3(key, msg).hex()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def canonical_query_string(pairs: Iterable[tuple[str, str]]) -> str:
    items = sorted(pairs, key=lambda kv: kv[0])
    return "&".join(f"{k}={quote(v, safe='~', encoding='utf-8')}" for k, v in items)


def canonical_headers(headers: Sequence[tuple[str, str]], signed: Sequence[str]) -> str:
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value.strip())
    return "".join(f"{name}:{','.join(sorted(values.get(name, [])))}\n" for name in sorted(signed))


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


def acs3_string_to_sign(canonical: str, algorithm: str = ACS3_SHA256) -> str:
    return f"{algorithm}\n{_hash(algorithm, canonical.encode('utf-8'))}"


def signature(secret: str, canonical: str, algorithm: str = ACS3_SHA256) -> str:
    """The hex ACS3 signature of a canonical request."""
    return _hmac(algorithm, secret, acs3_string_to_sign(canonical, algorithm))


def sign_headers(
    method: str,
    path: str,
    query_pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key_id: str,
    secret: str,
    algorithm: str = ACS3_SHA256,
) -> dict[str, str]:
    """Headers for a request signed as the SDK signs it (for tests and tools).

    `headers` should hold host, x-acs-action, x-acs-version, x-acs-date and
    x-acs-signature-nonce; x-acs-content-sha256 and Authorization are added.
    """
    out = {k.lower(): v for k, v in headers.items()}
    payload = _hash(algorithm, body)
    out["x-acs-content-sha256"] = payload
    signed = sorted(out)
    canonical = canonical_request(method, path, query_pairs, list(out.items()), signed, payload)
    out["authorization"] = (
        f"{algorithm} Credential={access_key_id},SignedHeaders={';'.join(signed)},"
        f"Signature={signature(secret, canonical, algorithm)}"
    )
    return out


# ---------------------------------------------------------------------- v2


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as v2 signing wants it (space %20, `*` %2A, `~` kept)."""
    return quote(value, safe="~", encoding="utf-8")


def v2_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in pairs)
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def v2_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_v2(
    method: str,
    params: Mapping[str, str],
    *,
    access_key_id: str,
    secret: str,
    nonce: str,
    timestamp: str | None = None,
) -> dict[str, str]:
    """`params` (Action, Version, the action's own) with v2's parameters and Signature added."""
    out = dict(params)
    out.setdefault("Format", "JSON")
    out.update(
        AccessKeyId=access_key_id,
        SignatureMethod=V2_METHOD,
        SignatureVersion=V2_VERSION,
        SignatureNonce=nonce,
        Timestamp=timestamp or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    out["Signature"] = v2_signature(secret, v2_string_to_sign(method, out))
    return out


# ---------------------------------------------------------------------- verification


def _missing(name: str) -> VpcApiError:
    return VpcApiError(400, f"Missing{name}", f"{name} is mandatory for this action.")


def _incomplete(detail: str) -> NoReturn:
    raise VpcApiError(
        400, "IncompleteSignature", f"The request signature does not conform to Aliyun standards: {detail}"
    )


class Authenticator:
    """Checks ACS3-HMAC-SHA256, ACS3-HMAC-SM3 and v2 HMAC-SHA1 signatures.

    credentials: AccessKeyId → (secret, STS token or None: a long-term key).
    max_clock_skew: seconds a request's time may be off the wall clock (None: no check).
    check_nonce: refuse a missing or reused signature nonce.
    """

    def __init__(
        self,
        credentials: Mapping[str, tuple[str, str | None]] | None = None,
        max_clock_skew: float | None = DEFAULT_MAX_CLOCK_SKEW,
        check_nonce: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials: dict[str, tuple[str, str | None]] = dict(
            DEFAULT_CREDENTIALS if credentials is None else credentials
        )
        self.max_clock_skew = max_clock_skew
        self.check_nonce = check_nonce
        self._clock = clock
        self._wall_clock = wall_clock
        self._nonces: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def clear_nonces(self) -> None:
        with self._lock:
            self._nonces.clear()

    def authenticate(self, req: ApiRequest, params: Mapping[str, str] | None = None) -> str:
        """The AccessKeyId of a correctly signed request; VpcApiError otherwise.

        params: the request's parameters (query and form), if already parsed.
        """
        if req.header("authorization"):
            return self._acs3(req)
        params = req.params() if params is None else params
        if "Signature" in params or "SignatureMethod" in params or "SignatureVersion" in params:
            return self._v2(req, params)
        raise VpcApiError(400, "MissingAuthorization", "Authorization is mandatory for this action.")

    # ------------------------------------------------------------------ ACS3

    def _acs3(self, req: ApiRequest) -> str:
        auth = (req.header("authorization") or "").strip()
        algorithm = auth.split(" ", 1)[0]
        if algorithm not in ACS3_ALGORITHMS:
            raise VpcApiError(
                400,
                "InvalidSignatureMethod",
                f"Specified signature method {algorithm} is not supported: use {' or '.join(ACS3_ALGORITHMS)}.",
            )
        match = _AUTH_RE.match(auth)
        if match is None:
            _incomplete("malformed Authorization header.")
        ak = match.group("ak")
        signed = [h for h in match.group("sh").split(";") if h]
        secret, token = self._credential(ak)
        self._check_token(req.header("x-acs-security-token"), token)
        received_hash = (req.header("x-acs-content-sha256") or "").lower()
        if not hmac.compare_digest(received_hash, _hash(algorithm, req.body)):
            _incomplete("x-acs-content-sha256 does not match the request body.")
        present = {name.lower() for name, _ in req.headers}
        required = {"host"} | {n for n in present if n.startswith("x-acs-") and n != "x-acs-signature"}
        if not required <= set(signed) or not set(signed) <= present:
            _incomplete("SignedHeaders must list host and every x-acs-* header, and only headers sent.")
        canonical = canonical_request(req.method, req.path, req.query_pairs, req.headers, signed, received_hash)
        to_sign = acs3_string_to_sign(canonical, algorithm)
        if not hmac.compare_digest(_hmac(algorithm, secret, to_sign), match.group("sig").lower()):
            self._not_matched(to_sign)
        self._check_time(req.header("x-acs-date"), "x-acs-date")
        self._check_nonce(ak, req.header("x-acs-signature-nonce"))
        return ak

    # ------------------------------------------------------------------ v2

    def _v2(self, req: ApiRequest, params: Mapping[str, str]) -> str:
        version = params.get("SignatureVersion")
        if not version:
            raise _missing("SignatureVersion")
        if version != V2_VERSION:
            raise VpcApiError(400, "InvalidSignatureVersion", f"Specified signature version {version} is not valid.")
        method = params.get("SignatureMethod")
        if not method:
            raise _missing("SignatureMethod")
        if method != V2_METHOD:
            raise VpcApiError(
                400,
                "InvalidSignatureMethod",
                f"Specified signature method {method} is not supported: use {V2_METHOD}.",
            )
        ak = params.get("AccessKeyId")
        if not ak:
            raise _missing("AccessKeyId")
        received = params.get("Signature")
        if not received:
            raise _missing("Signature")
        if not params.get("Timestamp") and self.max_clock_skew is not None:
            raise _missing("Timestamp")
        if not params.get("SignatureNonce") and self.check_nonce:
            raise _missing("SignatureNonce")
        secret, token = self._credential(ak)
        self._check_token(params.get("SecurityToken"), token)
        to_sign = v2_string_to_sign(req.method, params)
        if not hmac.compare_digest(v2_signature(secret, to_sign).encode(), received.encode()):
            self._not_matched(to_sign)
        self._check_time(params.get("Timestamp"), "Timestamp")
        self._check_nonce(ak, params.get("SignatureNonce"))
        return ak

    # ------------------------------------------------------------------ shared rules

    def _credential(self, ak: str) -> tuple[str, str | None]:
        creds = self.credentials.get(ak)
        if creds is None:
            raise VpcApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        return creds

    @staticmethod
    def _not_matched(to_sign: str) -> NoReturn:
        # The real gateway's words, string to sign included (clients parse it).
        raise VpcApiError(400, "SignatureDoesNotMatch", f"{_NOT_MATCHED} server string to sign is:{to_sign}")

    @staticmethod
    def _check_token(received: str | None, expected: str | None) -> None:
        if expected is None:
            if received:
                raise VpcApiError(400, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.")
            return
        if not received:
            raise VpcApiError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
        if not hmac.compare_digest(received.encode(), expected.encode()):
            raise VpcApiError(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            )

    def _check_time(self, raw: str | None, name: str) -> None:
        """ISO 8601 UTC, within max_clock_skew of now, in the past or the future."""
        if self.max_clock_skew is None:
            return
        if not raw:
            raise VpcApiError(400, "MissingTimestamp", f"{name} is mandatory for this action.")
        when = None
        for fmt in _TIMESTAMP_FORMATS:
            try:
                when = datetime.datetime.strptime(raw, fmt).replace(tzinfo=datetime.timezone.utc)
                break
            except ValueError:
                continue
        if when is None:
            raise VpcApiError(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            )
        if abs(self._wall_clock() - when.timestamp()) > self.max_clock_skew:
            raise VpcApiError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")

    def _check_nonce(self, ak: str, nonce: str | None) -> None:
        if not self.check_nonce:
            return
        if not nonce:
            raise VpcApiError(400, "MissingSignatureNonce", "SignatureNonce is mandatory for this action.")
        now = self._clock()
        with self._lock:
            if len(self._nonces) > 10000:
                cutoff = now - NONCE_TTL
                self._nonces = {n: t for n, t in self._nonces.items() if t >= cutoff}
            key = (ak, nonce)
            seen = self._nonces.get(key)
            if seen is not None and now - seen < NONCE_TTL:
                raise VpcApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces[key] = now
