"""The benchmarks cannot rot: `python -m bench.run --smoke` runs and reports every figure.

Structure only: no timing is asserted here (speed is measured by `make bench`, never by the
suite), and the storm's UnassociateHaVip count is reported by the benchmark, not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS_MD = ROOT / "bench" / "RESULTS.md"


def _stat(d: Any) -> None:
    assert set(d) == {"median", "min", "max", "n"}, d
    assert d["n"] >= 1
    assert 0 < d["min"] <= d["median"] <= d["max"], d


def _positive(x: Any) -> None:
    assert isinstance(x, (int, float)) and x > 0, x


def _count(x: Any) -> None:
    assert isinstance(x, int) and x >= 0, x


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, str]:
    tmp = tmp_path_factory.mktemp("bench")
    before = RESULTS_MD.read_bytes() if RESULTS_MD.exists() else None
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--json", str(tmp / "r.json"), "--out", str(tmp / "r.md")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = RESULTS_MD.read_bytes() if RESULTS_MD.exists() else None
    assert before == after, "a smoke run must not touch bench/RESULTS.md"
    return json.loads((tmp / "r.json").read_text()), (tmp / "r.md").read_text(), proc.stdout


def test_meta(smoke: tuple[dict[str, Any], str, str]) -> None:
    results, _, _ = smoke
    meta = results["meta"]
    assert meta["smoke"] is True and meta["runs"] == 1
    for key in ("date", "command", "python", "platform", "cpu", "cpus"):
        assert meta[key], key
    assert "--smoke" in meta["command"]
    assert len(meta["handler_fingerprint"]) == 12
    assert isinstance(meta["handler_changed_during_run"], bool)


def test_cold_start(smoke: tuple[dict[str, Any], str, str]) -> None:
    cs = smoke[0]["cold_start"]
    for who in ("ours", "naive"):
        for key in ("to_result_s", "to_first_unassociate_s", "interpreter_s", "import_s", "first_invocation_s"):
            _stat(cs[who][key])
        _stat(cs[who]["peak_rss_mb"])
        assert cs[who]["initialize_s"]["median"] >= 0
    for key in ("to_result", "to_first_unassociate", "import"):
        _positive(cs["ratios"][key])
    assert isinstance(cs["rss_delta_mb"], float)
    for key in ("ours_import_index", "naive_import", "ours_cold_invocation", "naive_cold_invocation"):
        rows = cs["importtime"][key]
        assert 1 <= len(rows) <= 15
        assert all(r["module"] and r["cumulative_ms"] >= r["self_ms"] >= 0 for r in rows)
    assert cs["importtime"]["ours_import_index"][0]["module"] == "index"
    for key in ("ours_by_package", "naive_by_package"):
        rows = cs["importtime"][key]
        *packages, total = rows
        assert total["package"] == "(all)" and 1 <= len(packages) <= 14
        assert all(r["self_ms"] >= 0 and r["modules"] >= 1 for r in rows)
        assert total["self_ms"] >= sum(r["self_ms"] for r in packages) - 1e-6


def test_confirmed_failover(smoke: tuple[dict[str, Any], str, str]) -> None:
    cf = smoke[0]["confirmed_failover"]
    for who in ("ours", "naive"):
        for key in ("confirmed_s", "lag_s", "to_unassociate_s"):
            _stat(cf[who][key])
        _positive(cf[who]["describes_total"]["median"])
        _positive(cf[who]["describes_per_250ms"]["median"])
    _stat(cf["naive"]["returned_s"])
    _positive(cf["ratios"]["confirmed"])
    _positive(cf["ratios"]["lag"])


def test_fan_out(smoke: tuple[dict[str, Any], str, str]) -> None:
    fo = smoke[0]["fan_out"]
    assert set(fo["sizes"]) == {"1", "4", "8"}
    for size, row in fo["sizes"].items():
        _stat(row["ours"]["all_unassociated_s"])
        _stat(row["naive"]["all_unassociated_s"])
        _stat(row["naive"]["all_returned_s"])
        assert row["ours"]["unassociates"]["median"] >= int(size)
    assert fo["ratio_max_vs_min"]["sizes"] == [1, 8]
    assert fo["slow"]["havips"] == 8
    for who in ("ours", "naive"):
        _stat(fo["slow"][who]["all_unassociated_s"])
        _positive(fo["slow"][who]["describes_per_250ms"]["median"])
    for key in ("ours", "naive_returned", "naive_confirmed"):
        _positive(fo["ratio_max_vs_min"][key])


def test_warm_path_and_calls(smoke: tuple[dict[str, Any], str, str]) -> None:
    results = smoke[0]
    wp = results["warm_path"]
    assert set(wp["fake"]) == {
        "manual_master",
        "manual_already_done",
        "alarm_master_http",
        "recovery",
        "rejected_bad_json",
    }
    for row in [*wp["fake"].values(), wp["sdk_already_done"]["ours"], wp["sdk_already_done"]["naive"]]:
        _positive(row["events_per_s"])
        _positive(row["events"])
    _positive(wp["sdk_already_done"]["ratio_events_per_s"]["value"])
    cases = results["calls_per_incident"]["cases"]
    assert set(cases) == {"master", "standby", "already_done"}
    for row in cases.values():
        for who in ("ours", "naive"):
            for key in ("describe", "unassociate", "completion_checks", "total"):
                _count(row[who][key])
            assert row[who]["describe"] >= 1


def test_storm(smoke: tuple[dict[str, Any], str, str]) -> None:
    st = smoke[0]["storm"]
    assert st["deliveries"] == 100
    for key in ("ours_sequential", "ours_concurrent", "naive_sequential"):
        row = st[key]
        for count in (
            "unassociate_calls",
            "unassociate_accepted",
            "unassociate_distinct_request_ids",
            "describe_calls",
        ):
            _count(row[count])
        assert row["unassociate_calls"] >= 1
        assert sum(row["results"].values()) == 100
        _positive(row["seconds"])


def test_report_has_every_section(smoke: tuple[dict[str, Any], str, str]) -> None:
    _, markdown, stdout = smoke
    assert "SMOKE RUN" in markdown
    for heading in (
        "## Figures",
        "## 1. Cold start",
        "## 2. Time to confirmed failover",
        "## 3. Fan-out",
        "## 4. Warm path",
        "## 5. Event storms",
        "## Headline: keepalived notices → peer confirmed fenced",
        "## Reconcile: 1, 10 and 50 managed HAVIPs",
    ):
        assert heading in markdown and heading in stdout


def test_reconcile_costs_pages_not_calls_per_havip(smoke: tuple[dict[str, Any], str, str]) -> None:
    rows = {row["havips"]: row for row in smoke[0]["reconcile"]["rows"]}
    assert sorted(rows) == [1, 10, 50]
    for by in ("ids", "tag"):
        calls = rows[50][by]["calls"]
        # 50 HAVIPs: a full page and the empty one after it; 100 nodes: two pages of 50
        assert calls == {"DescribeHaVips": 2, "DescribeInstanceStatus": 2}, calls
    assert rows[50]["per_havip"]["calls"] == {"DescribeHaVips": 50, "DescribeInstanceStatus": 50}


def test_headline(smoke: tuple[dict[str, Any], str, str]) -> None:
    hl = smoke[0]["headline"]
    assert hl["runs"] == 1
    for who in ("ours", "poll5"):
        for key in ("confirmed_s", "script_s", "to_unassociate_s"):
            row = hl[who][key]
            assert set(row) == {"median", "p95", "min", "max", "n"}
            assert 0 < row["min"] <= row["median"] <= row["p95"] <= row["max"], row
        assert hl[who]["lag_s"]["median"] >= 0
    _positive(hl["ratio_median"])
    _positive(hl["ratio_p95"])
