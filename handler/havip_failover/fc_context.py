"""FC-shaped context objects, for the local invoke command and the tests.

They mirror what the FC runtimes pass: python3.10 carries `credentials` and `service`;
python3.12 has neither (credentials come from ALIBABA_CLOUD_* variables).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FcCredentials:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(default="", repr=False)


@dataclass(frozen=True)
class FcFunction:
    name: str = "havip-failover"
    handler: str = "index.handler"
    memory: int = 256
    timeout: int = 60


@dataclass(frozen=True)
class FcService:
    name: str = "havip-failover"
    log_project: str = ""
    log_store: str = ""
    qualifier: str = "LATEST"
    version_id: str = ""


@dataclass(frozen=True)
class Fc310Context:
    """The python3.10 runtime's context."""

    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    credentials: FcCredentials | None = None
    function: FcFunction = field(default_factory=FcFunction)
    service: FcService = field(default_factory=FcService)
    region: str = "cn-hangzhou"
    account_id: str = "1234567890123456"


@dataclass(frozen=True)
class Fc312Context:
    """The python3.12 runtime's context: no credentials, no service."""

    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function: FcFunction = field(default_factory=FcFunction)
    region: str = "cn-hangzhou"
    account_id: str = "1234567890123456"
