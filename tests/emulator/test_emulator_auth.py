"""Request signing: the real SDK's ACS3-HMAC-SHA256 requests pass; wrong ones get real codes."""

from __future__ import annotations

import datetime
import http.client
import json
import uuid
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException

from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair
from vpc_emulator.signing import sign_headers

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
