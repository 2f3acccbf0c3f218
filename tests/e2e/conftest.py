"""The emulator on a free port, and the FC entry pointed at it through its real configuration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context, Fc312Context, FcCredentials, FcFunction
from tests.conftest import RECORD_KEY
from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair

AK, SECRET = "LTAIemulatorKey", "emulator-secret"
STS_AK, STS_SECRET, STS_TOKEN = "STS.emulatorKey", "sts-emulator-secret", "CAIS-emulator-sts-token-value"


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    backend = VpcBackend(unassociate_delay=0.3)
    server = EmulatorServer(backend, credentials={AK: (SECRET, None), STS_AK: (STS_SECRET, STS_TOKEN)})
    server.backend.seed(two_node_pair())
    backend.unassociate_delay = 0.3
    with server:
        yield server


@pytest.fixture
def env(emulator: EmulatorServer) -> dict[str, str]:
    return {
        "FC_REGION": "cn-hangzhou",
        "HAVIP_VPC_ENDPOINT": emulator.endpoint,
        "HAVIP_ECS_ENDPOINT": emulator.endpoint,
        "HAVIP_VPC_PROTOCOL": "http",
        "HAVIP_WAIT_SECONDS": "10",
        "HAVIP_CALLBACK_TOKEN": "demo-callback-token",
        "HAVIP_RECORD_KEY": RECORD_KEY,
    }


Invoke = Callable[..., Any]


@pytest.fixture
def fc(env: dict[str, str]) -> Invoke:
    """Call the FC entry as the python3.10 runtime does (credentials in the context)."""

    def call(
        event: bytes,
        *,
        extra_env: dict[str, str] | None = None,
        timeout: int = 60,
        credentials: FcCredentials | None = None,
    ) -> Any:
        ctx = Fc310Context(credentials=credentials or FcCredentials(AK, SECRET), function=FcFunction(timeout=timeout))
        return invoke(event, ctx, env={**env, **(extra_env or {})})

    return call


@pytest.fixture
def fc312(env: dict[str, str]) -> Invoke:
    """The python3.12 runtime: no context.credentials, ALIBABA_CLOUD_* variables instead."""

    def call(event: bytes, *, extra_env: dict[str, str] | None = None) -> Any:
        creds = {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": STS_AK,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": STS_SECRET,
            "ALIBABA_CLOUD_SECURITY_TOKEN": STS_TOKEN,
        }
        return invoke(event, Fc312Context(), env={**env, **creds, **(extra_env or {})})

    return call
