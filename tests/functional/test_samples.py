"""Every sample of events/ through the FC entry, retimed to now, on the demo pair.

What an operator expects of each (events/expected.json): which instances are taken off
the HAVIP (`unassociates`), and for an HTTP request the status of the answer. The pair
is the one events/README.md describes: master i-bp1master000000001, standby
i-bp1standby00000001, both on havip-bp1pair0000000001.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context
from havip_failover.samples import retime
from tests.conftest import BASE_ENV, CALLBACK_TOKEN, EVENTS
from tests.fakes import FakeClock, FakeVpc, pair

EXPECTED: dict[str, Any] = json.loads((EVENTS / "expected.json").read_text(encoding="utf-8"))
ENV = {**BASE_ENV, "HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_through_the_entry_does_what_an_operator_expects(name: str) -> None:
    # GIVEN the demo pair, both nodes on the HAVIP, the master the master
    clock = FakeClock()
    vpc = FakeVpc(clock)
    vpc.add(pair())
    # WHEN the sample, retimed to now, reaches the FC entry
    response = invoke(
        retime((EVENTS / name).read_bytes()), Fc310Context(request_id="r-1"), env=ENV, vpc=vpc, clock=clock
    )
    # THEN exactly the expected instances are taken off, and an HTTP request gets its status
    expected = EXPECTED[name]
    taken_off = [c.params["instance"] for c in vpc.calls if c.action == "UnassociateHaVip"]
    assert taken_off == expected["unassociates"]
    if expected["envelope"] == "http":
        assert response["statusCode"] == expected["status"]
        result = json.loads(response["body"])
    else:
        assert "statusCode" not in response
        result = response
    assert [i["code"] for i in result["ignored"]] == expected.get("ignored", [])
    assert [[r["index"], r["code"]] for r in result["rejected"]] == expected.get("rejected", [])
    assert (result["error"] or {}).get("code") == expected.get("error")
    assert CALLBACK_TOKEN not in json.dumps(result)
