"""Fixtures: an emulator on a free port and real SDK clients pointed at it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models
from alibabacloud_vpc20160428.client import Client
from alibabacloud_vpc20160428.models import DescribeHaVipsResponseBody
from darabonba.runtime import RuntimeOptions

from vpc_emulator import EmulatorServer, VpcBackend

REGION = "cn-hangzhou"
AK = "LTAIemulatorKey"
SECRET = "emulator-secret"
STS_AK = "STS.emulatorTemp"
STS_SECRET = "sts-secret"
STS_TOKEN = "CAIS+emulator/token=="

ClientFactory = Callable[..., Client]


class Clock:
    """A clock the emulator's backend reads (its transitions, its describe-lag history)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend() -> VpcBackend:
    return VpcBackend(unassociate_delay=0.05)


@pytest.fixture
def server(backend: VpcBackend) -> Iterator[EmulatorServer]:
    credentials = {AK: (SECRET, None), STS_AK: (STS_SECRET, STS_TOKEN)}
    with EmulatorServer(backend, credentials=credentials) as srv:
        yield srv


@pytest.fixture
def make_client(server: EmulatorServer) -> ClientFactory:
    def factory(
        access_key_id: str = AK,
        access_key_secret: str = SECRET,
        security_token: str | None = None,
        read_timeout: int = 3000,
        **extra: Any,
    ) -> Client:
        return Client(
            Config(
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                security_token=security_token,
                endpoint=server.endpoint,
                protocol="http",
                region_id=REGION,
                read_timeout=read_timeout,
                connect_timeout=1000,
                **extra,
            )
        )

    return factory


@pytest.fixture
def client(make_client: ClientFactory) -> Client:
    return make_client()


class Vpc:
    """Thin calls through the real SDK (keyword arguments are the SDK request fields)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def describe(self, filters: dict[str, list[str]] | None = None, **fields: Any) -> DescribeHaVipsResponseBody:
        fields.setdefault("region_id", REGION)
        request = models.DescribeHaVipsRequest(
            filter=[models.DescribeHaVipsRequestFilter(key=k, value=v) for k, v in (filters or {}).items()] or None,
            **fields,
        )
        return self.client.describe_ha_vips_with_options(request, RuntimeOptions()).body

    def unassociate(self, **fields: Any) -> str:
        fields.setdefault("region_id", REGION)
        request = models.UnassociateHaVipRequest(**fields)
        response = self.client.unassociate_ha_vip_with_options(request, RuntimeOptions())
        assert response.status_code == 200
        return str(response.body.request_id)

    def associate(self, **fields: Any) -> str:
        fields.setdefault("region_id", REGION)
        request = models.AssociateHaVipRequest(**fields)
        response = self.client.associate_ha_vip_with_options(request, RuntimeOptions())
        return str(response.body.request_id)


@pytest.fixture
def vpc(client: Client) -> Vpc:
    return Vpc(client)


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def wait() -> Callable[..., None]:
    return wait_for
