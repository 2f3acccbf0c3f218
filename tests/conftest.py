"""Shared fixtures: a clean FC-like environment for each test, fake collaborators, and
the local VPC emulator on a free port."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog

from tests.fakes import FakeClock, FakeVpc

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
CALLBACK_TOKEN = "demo-callback-token"
# The record key every test deployment uses (a deployed function refuses to run without one).
RECORD_KEY = "test-record-key-0123456789abcdef-0123456789"
# What every test's function environment starts from.
BASE_ENV = {"FC_REGION": "cn-hangzhou", "HAVIP_RECORD_KEY": RECORD_KEY}


def event_bytes(name: str) -> bytes:
    """A sample of events/ as the entry should see it to act: its times set to now."""
    from havip_failover.samples import retime

    return retime((EVENTS / name).read_bytes())


def manual(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own cloud configuration."""
    import os

    for key in list(os.environ):
        if key.startswith(("HAVIP_", "ALIBABA_CLOUD_", "FC_")) or key in ("LOG_LEVEL", "DEBUG"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("FC_REGION", "cn-hangzhou")


class Wall:
    """UTC epoch seconds that move only when a test says so (the record's times, event ages)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_vpc(clock: FakeClock) -> FakeVpc:
    return FakeVpc(clock)


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        yield captured
