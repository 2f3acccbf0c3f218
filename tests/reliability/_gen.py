"""The reliability tier's generators, one module per concern, gathered under the name the
tests import from (`from tests.reliability._gen import write_report` keeps working).

* _gen_base: paths, the secrets no output may contain, the shared emulator, `write_report`
  (build/reliability/*.json, which scripts/reliability_report.py reads);
* _gen_scenarios: a scenario as plain data: ids, `HavipSpec`, `EventSpec` (built into the
  event bytes, in the shapes of events/) and `Case` (seeded into an emulator region of its own);
* _gen_faults: fault schedules: `FaultSpec`, `MutationLog`, the transient and permanent codes;
* _gen_strategies: the Hypothesis strategies drawing scenarios, events and fault schedules;
* _gen_fuzz: the fuzz tier's deterministic mutator of the sample events;
* _gen_recorder: what the emulator saw (every describe answer, every unassociate), for the
  property checks.
"""

from __future__ import annotations

from tests.reliability._gen_base import (
    AK,
    AK_SECRET,
    BUILD_DIR,
    CALLBACK_TOKEN,
    EMULATOR_CREDENTIALS,
    EVENTS_DIR,
    ROOT,
    RUN_STARTED,
    SAMPLE_CALLBACK_TOKEN,
    SECRETS,
    STS_AK,
    STS_SECRET,
    STS_TOKEN,
    start_emulator,
    write_report,
)
from tests.reliability._gen_faults import (
    PERMANENT,
    TRANSIENT,
    FaultSpec,
    MutationLog,
    MutationRecord,
)
from tests.reliability._gen_fuzz import (
    ID_KEYS,
    INJECTIONS,
    NOT_FUZZED,
    FuzzCase,
    Mutator,
    load_samples,
)
from tests.reliability._gen_recorder import (
    Dispatch,
    Recorder,
    View,
)
from tests.reliability._gen_scenarios import (
    ACCOUNT,
    DECOYS,
    IDS,
    MISSING_HAVIP,
    TARGETS,
    VPC,
    VSWITCH,
    Case,
    EventSpec,
    HavipSpec,
    http_envelope,
)
from tests.reliability._gen_strategies import (
    ECS_STATES,
    FAILURE_TYPES,
    alarm_state,
    cases,
    event_specs,
    fault_specs,
    havip_layouts,
)

__all__ = [
    "ACCOUNT",
    "AK",
    "AK_SECRET",
    "BUILD_DIR",
    "CALLBACK_TOKEN",
    "DECOYS",
    "ECS_STATES",
    "EMULATOR_CREDENTIALS",
    "EVENTS_DIR",
    "FAILURE_TYPES",
    "IDS",
    "ID_KEYS",
    "INJECTIONS",
    "MISSING_HAVIP",
    "NOT_FUZZED",
    "PERMANENT",
    "ROOT",
    "RUN_STARTED",
    "SAMPLE_CALLBACK_TOKEN",
    "SECRETS",
    "STS_AK",
    "STS_SECRET",
    "STS_TOKEN",
    "TARGETS",
    "TRANSIENT",
    "VPC",
    "VSWITCH",
    "Case",
    "Dispatch",
    "EventSpec",
    "FaultSpec",
    "FuzzCase",
    "HavipSpec",
    "MutationLog",
    "MutationRecord",
    "Mutator",
    "Recorder",
    "View",
    "alarm_state",
    "cases",
    "event_specs",
    "fault_specs",
    "havip_layouts",
    "http_envelope",
    "load_samples",
    "start_emulator",
    "write_report",
]
