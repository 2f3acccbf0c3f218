"""A misconfigured endpoint, through the real SDK over real sockets: the VpcError says which
endpoint failed and what to check (HTTPS against the plain-HTTP emulator; nothing listening)."""

from __future__ import annotations

import socket

import pytest

from havip_failover.vpc import Credentials, SdkVpc, VpcError
from vpc_emulator import EmulatorServer

from .conftest import AK, SECRET

pytestmark = pytest.mark.e2e
REGION = "cn-hangzhou"


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def describe_error(endpoint: str, protocol: str) -> VpcError:
    vpc = SdkVpc(Credentials(AK, SECRET), endpoint=endpoint, ecs_endpoint=endpoint, protocol=protocol)
    with pytest.raises(VpcError) as info:
        vpc.describe_ha_vips(REGION, timeout=3.0)
    return info.value


def test_https_against_the_plain_http_emulator_says_to_set_the_protocol(emulator: EmulatorServer) -> None:
    err = describe_error(emulator.endpoint, "https")
    assert err.code == "NetworkError"
    assert err.message.startswith(f"https://{emulator.endpoint} does not answer TLS"), err.message
    assert "HAVIP_VPC_PROTOCOL=http" in err.message
    assert "WRONG_VERSION_NUMBER" in err.message  # the SDK's own words follow the hint


def test_a_closed_port_says_nothing_listens_and_what_to_check() -> None:
    port = closed_port()
    for protocol in ("http", "https"):
        err = describe_error(f"127.0.0.1:{port}", protocol)
        assert err.code == "NetworkError"
        assert err.message.startswith(f"{protocol}://127.0.0.1:{port} refused the connection"), err.message
        assert "HAVIP_VPC_ENDPOINT" in err.message and "running" in err.message
