"""Request signing: the real SDK's ACS3-HMAC-SHA256 requests pass; wrong ones get real codes."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import json
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException

from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair
from vpc_emulator.signing import sign_headers, sign_v2, v2_signature, v2_string_to_sign
from vpc_emulator.sm3 import hmac_sm3, sm3

from .conftest import AK, SECRET, STS_AK, STS_SECRET, STS_TOKEN, ClientFactory, Vpc


def raw_call(
    server: EmulatorServer,
    *,
    action: str = "DescribeHaVips",
    version: str = "2016-04-28",
    query: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    secret: str = SECRET,
    tamper: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    nonce: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """One hand-signed request (as the SDK signs it), optionally tampered after signing."""
    pairs = query if query is not None else [("RegionId", "cn-hangzhou")]
    qs = "&".join(f"{k}={v}" for k, v in pairs)
    headers = sign_headers(
        "POST",
        "/",
        pairs,
        {
            "host": server.endpoint,
            "x-acs-action": action,
            "x-acs-version": version,
            "x-acs-date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
            "accept": "application/json",
        },
        body,
        access_key_id=AK,
        secret=secret,
    )
    headers.update(tamper or {})
    for name in drop:
        headers.pop(name, None)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        conn.request("POST", f"/?{qs}", body=body, headers=headers)
        response = conn.getresponse()
        assert response.getheader("Content-Type") == "application/json;charset=utf-8"
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_hand_signed_request_matches_the_sdk_signing(server: EmulatorServer, backend: VpcBackend) -> None:
    # GIVEN a pair
    backend.seed(two_node_pair())
    # WHEN a request signed by the emulator's own helper is sent
    status, body = raw_call(server, query=[("RegionId", "cn-hangzhou"), ("Filter.1.Key", "Status")])
    # THEN it is accepted (the SDK-signed path is covered by every other test)
    assert status == 200 and body["TotalCount"] == 1


def test_wrong_secret_is_signature_does_not_match(make_client: ClientFactory) -> None:
    # GIVEN a client with the right AccessKeyId and a wrong secret
    vpc = Vpc(make_client(access_key_secret="not-the-secret"))
    # WHEN it calls
    with pytest.raises(ClientException) as info:
        vpc.describe()
    # THEN SignatureDoesNotMatch, HTTP 400
    assert (info.value.code, info.value.status_code) == ("SignatureDoesNotMatch", 400)
    assert "Specified signature is not matched with our calculation." in info.value.message


def test_unknown_access_key_is_not_found(make_client: ClientFactory) -> None:
    # GIVEN a client with an AccessKeyId the emulator does not know
    vpc = Vpc(make_client(access_key_id="LTAIunknown", access_key_secret="x"))
    # WHEN it calls
    with pytest.raises(ClientException) as info:
        vpc.describe()
    # THEN InvalidAccessKeyId.NotFound, HTTP 404
    assert (info.value.code, info.value.status_code) == ("InvalidAccessKeyId.NotFound", 404)


def test_sts_security_token_is_checked(make_client: ClientFactory, server: EmulatorServer) -> None:
    # GIVEN an STS key configured with its token
    # WHEN called with the right token THEN accepted
    assert Vpc(make_client(STS_AK, STS_SECRET, security_token=STS_TOKEN)).describe().total_count == 0
    assert server.journal[-1].access_key_id == STS_AK
    # WHEN called with a wrong token THEN InvalidSecurityToken.MismatchWithAccessKey
    with pytest.raises(ClientException) as info:
        Vpc(make_client(STS_AK, STS_SECRET, security_token="CAIS+other")).describe()
    assert (info.value.code, info.value.status_code) == ("InvalidSecurityToken.MismatchWithAccessKey", 400)
    # WHEN called with no token THEN MissingSecurityToken
    with pytest.raises(ClientException) as info:
        Vpc(make_client(STS_AK, STS_SECRET)).describe()
    assert info.value.code == "MissingSecurityToken"
    # WHEN a long-term key sends a token THEN it is refused as malformed
    with pytest.raises(ClientException) as info:
        Vpc(make_client(security_token="CAIS+stray")).describe()
    assert info.value.code == "InvalidSecurityToken.Malformed"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"drop": ("authorization",)}, 400, "MissingAuthorization"),
        (
            {"tamper": {"authorization": "ACS3-HMAC-MD5 Credential=x,SignedHeaders=host,Signature=00"}},
            400,
            "InvalidSignatureMethod",
        ),
        ({"tamper": {"authorization": "ACS3-HMAC-SHA256 garbage"}}, 400, "IncompleteSignature"),
        ({"body": b"RegionId=cn-hangzhou", "tamper": {"x-acs-content-sha256": "0" * 64}}, 400, "IncompleteSignature"),
        ({"tamper": {"x-acs-date": "2001-01-01T00:00:00Z"}}, 400, "SignatureDoesNotMatch"),
        ({"secret": "wrong"}, 400, "SignatureDoesNotMatch"),
        ({"version": "2014-05-26"}, 400, "InvalidVersion"),
        ({"action": "DeleteVpc"}, 404, "InvalidAction.NotFound"),
        ({"query": []}, 400, "MissingParameter"),
    ],
)
def test_hand_made_requests_get_real_codes(
    server: EmulatorServer, kwargs: dict[str, Any], status: int, code: str
) -> None:
    # GIVEN / WHEN a request with one thing wrong
    got_status, body = raw_call(server, **kwargs)
    # THEN the real code, status and error body
    assert (got_status, body["Code"]) == (status, code)
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert server.journal[-1].code == code


def test_stale_date_and_reused_nonce_are_refused(server: EmulatorServer) -> None:
    # GIVEN a date signed 20 minutes in the past
    old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = sign_headers(
        "POST",
        "/",
        [("RegionId", "cn-hangzhou")],
        {
            "host": server.endpoint,
            "x-acs-action": "DescribeHaVips",
            "x-acs-version": "2016-04-28",
            "x-acs-date": old,
            "x-acs-signature-nonce": "n-old",
        },
        b"",
        access_key_id=AK,
        secret=SECRET,
    )
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    conn.request("POST", "/?RegionId=cn-hangzhou", headers=headers)
    response = conn.getresponse()
    # THEN InvalidTimeStamp.Expired
    assert json.loads(response.read())["Code"] == "InvalidTimeStamp.Expired"
    conn.close()

    # GIVEN a nonce already used WHEN used again THEN SignatureNonceUsed
    assert raw_call(server, nonce="n-1")[0] == 200
    status, body = raw_call(server, nonce="n-1")
    assert (status, body["Code"]) == (400, "SignatureNonceUsed")


# ---------------------------------------------------------------------- v2 (HMAC-SHA1) and SM3


def v2_call(
    server: EmulatorServer,
    *,
    method: str = "GET",
    params: dict[str, str] | None = None,
    secret: str = SECRET,
    nonce: str | None = None,
    timestamp: str | None = None,
    tamper: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> tuple[int, dict[str, Any]]:
    """One v2-signed request: every parameter in the query (GET) or the form (POST)."""
    base = {"Action": "DescribeHaVips", "Version": "2016-04-28", "RegionId": "cn-hangzhou", **(params or {})}
    signed = sign_v2(
        method, base, access_key_id=AK, secret=secret, nonce=nonce or uuid.uuid4().hex, timestamp=timestamp
    )
    signed.update(tamper or {})
    for name in drop:
        signed.pop(name, None)
    encoded = urlencode(signed)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        if method == "GET":
            conn.request("GET", f"/?{encoded}")
        else:
            conn.request("POST", "/", body=encoded, headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def iso(delta: datetime.timedelta = datetime.timedelta(0)) -> str:
    return (datetime.datetime.now(datetime.timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_v2_signature_matches_the_documented_example() -> None:
    # GIVEN the string to sign of Alibaba Cloud's v2 signature documentation (secret "testsecret")
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeDedicatedHosts",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    to_sign = v2_string_to_sign("GET", params)
    # THEN the emulator builds the same string and the same signature
    assert to_sign == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeDedicatedHosts%26Format%3DXML"
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
        "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    # AND the signature and the string to sign of values that need encoding are aliyun-python-sdk-core's
    from aliyunsdkcore.auth.algorithm import sha_hmac1
    from aliyunsdkcore.auth.composer import rpc_signature_composer

    assert v2_signature("testsecret", to_sign) == sha_hmac1.get_sign_string(to_sign, "testsecret&")
    odd = {**params, "Name": "a b*~/ü+&=", "Filter.1.Value.1": "x:y"}
    compose = getattr(rpc_signature_composer, "__compose_string_to_sign")
    assert v2_string_to_sign("POST", odd) == compose("POST", odd)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_v2_requests_are_accepted_in_query_and_form(server: EmulatorServer, backend: VpcBackend, method: str) -> None:
    # GIVEN a pair WHEN a v2-signed request names a filter, with a space and a `*` to encode
    backend.seed(two_node_pair())
    status, body = v2_call(
        server, method=method, params={"Filter.1.Key": "Status", "Filter.1.Value.1": "InUse", "Note": "a b*~"}
    )
    # THEN it is accepted, and the action sees its own parameters only
    assert (status, body["TotalCount"]) == (200, 1)
    entry = server.journal[-1]
    assert entry.action == "DescribeHaVips" and entry.access_key_id == AK
    assert "Signature" not in entry.params and "AccessKeyId" not in entry.params


def test_v2_wrong_secret_quotes_the_string_to_sign(server: EmulatorServer) -> None:
    nonce, when = "n-quote", iso()
    status, body = v2_call(server, secret="wrong", nonce=nonce, timestamp=when)
    expected = v2_string_to_sign(
        "GET",
        sign_v2(
            "GET",
            {"Action": "DescribeHaVips", "Version": "2016-04-28", "RegionId": "cn-hangzhou"},
            access_key_id=AK,
            secret="wrong",
            nonce=nonce,
            timestamp=when,
        ),
    )
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")
    assert (
        body["Message"]
        == f"Specified signature is not matched with our calculation. server string to sign is:{expected}"
    )
    assert body["Message"].split(":")[1] == expected  # as aliyun-python-sdk-core reads it


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"drop": ("Signature", "SignatureMethod", "SignatureVersion")}, 400, "MissingAuthorization"),
        ({"drop": ("Signature",)}, 400, "MissingSignature"),
        ({"drop": ("SignatureNonce",)}, 400, "MissingSignatureNonce"),
        ({"drop": ("Timestamp",)}, 400, "MissingTimestamp"),
        ({"drop": ("AccessKeyId",)}, 400, "MissingAccessKeyId"),
        ({"tamper": {"SignatureMethod": "HMAC-SHA256"}}, 400, "InvalidSignatureMethod"),
        ({"tamper": {"SignatureVersion": "2.0"}}, 400, "InvalidSignatureVersion"),
        ({"tamper": {"AccessKeyId": "LTAIunknown"}}, 404, "InvalidAccessKeyId.NotFound"),
        ({"tamper": {"RegionId": "cn-beijing"}}, 400, "SignatureDoesNotMatch"),
        ({"timestamp": "2026/01/01 00:00:00"}, 400, "InvalidTimeStamp.Format"),
        ({"skew": datetime.timedelta(minutes=-16)}, 400, "InvalidTimeStamp.Expired"),
        ({"skew": datetime.timedelta(minutes=16)}, 400, "InvalidTimeStamp.Expired"),
        ({"skew": datetime.timedelta(minutes=-14)}, 200, None),
        ({"skew": datetime.timedelta(minutes=14)}, 200, None),
        ({"params": {"Action": "DescribeHaVips", "Version": "2014-05-26"}}, 400, "InvalidVersion"),
    ],
)
def test_v2_requests_get_real_codes(
    server: EmulatorServer, kwargs: dict[str, Any], status: int, code: str | None
) -> None:
    # GIVEN / WHEN a v2 request with one thing wrong (or a clock within the 15 minutes)
    if "skew" in kwargs:  # the time is taken now, when the test runs, not when it was collected
        kwargs = {"timestamp": iso(kwargs["skew"])}
    got_status, body = v2_call(server, **kwargs)
    # THEN the real code (an ECS action passes the signature check like any other)
    assert (got_status, body.get("Code")) == (status, code)


def test_v2_nonce_reuse_is_refused(server: EmulatorServer) -> None:
    assert v2_call(server, nonce="n-v2")[0] == 200
    status, body = v2_call(server, nonce="n-v2")
    assert (status, body["Code"]) == (400, "SignatureNonceUsed")


def test_sm3_hand_signed_request(server: EmulatorServer, backend: VpcBackend) -> None:
    # GIVEN a request signed with ACS3-HMAC-SM3 by the emulator's helper (the SDKs: test_emulator_clients)
    backend.seed(two_node_pair())
    headers = sign_headers(
        "POST",
        "/",
        [("RegionId", "cn-hangzhou")],
        {
            "host": server.endpoint,
            "x-acs-action": "DescribeHaVips",
            "x-acs-version": "2016-04-28",
            "x-acs-date": iso(),
            "x-acs-signature-nonce": uuid.uuid4().hex,
        },
        b"",
        access_key_id=AK,
        secret=SECRET,
        algorithm="ACS3-HMAC-SM3",
    )
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    conn.request("POST", "/?RegionId=cn-hangzhou", headers=headers)
    response = conn.getresponse()
    assert (response.status, json.loads(response.read())["TotalCount"]) == (200, 1)
    conn.close()


def test_sm3_matches_the_standard_vectors() -> None:
    # GB/T 32905-2016 appendix A
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3(b"abcd" * 16).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    if "sm3" in hashlib.algorithms_available:  # and OpenSSL's, where this build has it
        for size in (0, 55, 56, 64, 65, 130):
            data = bytes(range(256))[:size]
            assert sm3(data) == hashlib.new("sm3", data).digest()
            assert hmac_sm3(b"k" * 70, data) == hmac.new(b"k" * 70, data, "sm3").digest()


def test_v2_sts_token_never_logged(server: EmulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN an STS key used with a v2 GET (the token travels in the query string)
    server.authenticator.credentials["STS.v2"] = ("v2-secret", "CAIS+v2/token==")
    params = {"Action": "DescribeHaVips", "Version": "2016-04-28", "RegionId": "cn-hangzhou"}
    signed = sign_v2(
        "GET", {**params, "SecurityToken": "CAIS+v2/token=="}, access_key_id="STS.v2", secret="v2-secret", nonce="n-s"
    )
    with caplog.at_level("DEBUG", logger="vpc_emulator"):
        conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
        conn.request("GET", f"/?{urlencode(signed)}")
        response = conn.getresponse()
        status = response.status
        response.read()
        conn.close()
    # THEN accepted, and neither the token nor the signature is in the log or the journal
    assert status == 200
    assert "GET /?" in caplog.text
    for secret in ("CAIS", urlencode({"x": signed["Signature"]})[2:]):
        assert secret not in caplog.text
        assert secret not in json.dumps(server.journal[-1].to_dict())
