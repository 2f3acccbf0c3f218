"""The reliability tier's common ground: paths, the secrets whose absence from every output
the tiers assert, the emulator one test module shares, and the report writer
(build/reliability/*.json, read by scripts/reliability_report.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vpc_emulator import EmulatorServer, VpcBackend

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "events"
BUILD_DIR = ROOT / "build" / "reliability"
RUN_STARTED = time.time()  # the "now" of every generated event

# ---------------------------------------------------------------------------------------
# Credentials and secrets: distinctive values, so "never in the output" is a plain substring test.

AK = "LTAIreliabilityKey"
AK_SECRET = "rel-ak-secret-Q8vZ2mXw7Kp"
STS_AK = "STS.reliabilityKey"
STS_SECRET = "rel-sts-secret-Hn4Tc9Lr2Bj"
STS_TOKEN = "CAIS-rel-sts-token-Vd6Ws3Ye8Nq"
CALLBACK_TOKEN = "rel-callback-token-Jm5Rx1Fa9Pz"
RECORD_KEY = "reliability-record-key-0123456789abcdef"
SECRETS = (AK_SECRET, STS_SECRET, STS_TOKEN, CALLBACK_TOKEN, RECORD_KEY)
# The sample events carry this one (events/README.md); the fuzz tier configures it.
SAMPLE_CALLBACK_TOKEN = "demo-callback-token"

EMULATOR_CREDENTIALS = {AK: (AK_SECRET, None), STS_AK: (STS_SECRET, STS_TOKEN)}


def start_emulator(unassociate_delay: float = 0.1) -> EmulatorServer:
    """One emulator for a whole test module (Hypothesis examples cannot use function fixtures)."""
    server = EmulatorServer(VpcBackend(unassociate_delay=unassociate_delay), credentials=EMULATOR_CREDENTIALS)
    return server.start()


def write_report(name: str, data: Mapping[str, Any]) -> Path:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    path = BUILD_DIR / name
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
