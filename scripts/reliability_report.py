"""Write docs/reliability.md from the figures the reliability tests left in build/reliability/.

`make reliability` runs tests/reliability (which write faults.json, races.json,
properties.json and fuzz.json) and then this script; nothing here is typed by hand
except the prose and the limitations.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "build" / "reliability"
DOC = ROOT / "docs" / "reliability.md"
PHASES = ["discovery", "describe", "unassociate", "polling"]
PHASE_NOTES = {
    "discovery": "listing the region's HAVIPs (an event that names none)",
    "describe": "the first look at a named HAVIP",
    "unassociate": "the UnassociateHaVip call",
    "polling": "the looks that wait for completion",
}

LIMITATIONS = """\
- **Real API behaviour the emulator can only imitate.** The emulator follows the API reference
  (codes, statuses, preconditions, ClientToken idempotency), but how long the real API keeps a
  ClientToken, how far DescribeHaVips lags behind a call, and the real rate limits are not
  observable here. The function assumes neither: it never decides on a view older than its own
  last call or the answer that refused it, treats a refusal as proof the view is stale, and
  reads its record from the tag service before it takes anything off (a node any invocation
  removed in the last 5 minutes counts as gone). It cannot see what no describe shows yet:
  another actor's change within the describe's lag (the survivor check narrows that window).
- **A stale event after a recovery.** An event older than `HAVIP_MAX_EVENT_AGE_SECONDS` (600 s)
  by its own time is skipped (`stale-event`), and s.yaml drops async events older than 300 s.
  Within those windows, a late re-delivery of an old failure of a node that has since come back
  is decided on the HAVIP as it is now (survivor check, last-instance guard, cooldown).
- **Duplicates across instances.** Concurrent deliveries of one incident are serialised inside
  one instance (one UnassociateHaVip); across instances they rely on the deterministic
  ClientToken and on reserved concurrency 1 (s.yaml). The two-process test shows one
  disassociation and truthful results, but each process may send the (idempotent) call once.
- **A response slower than the read timeout, repeatedly.** The call is applied by the server
  after the client gave up; the function then sees the disassociation on its next look and
  reports `unassociated` — correct, though its RequestId is lost (`apiRequestIds` is empty).
- **Timing bounds** (returns within the deadline) are checked with real clocks on a shared
  2-core machine, with a 0.35 s tolerance for one in-flight call; they are correctness bounds,
  not performance figures (those are in bench/RESULTS.md).
"""


def load(name: str) -> Any:
    path = FIGURES / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `make reliability` (it runs tests/reliability first)")
    return json.loads(path.read_text(encoding="utf-8"))


def fault_matrix(rows: list[dict[str, Any]]) -> list[str]:
    matrix = [r for r in rows if r["phase"] in PHASES and r["repeat"] in ("once", "repeatedly")]
    conditions = list(dict.fromkeys(r["condition"] for r in matrix))
    cell: dict[tuple[str, str, str], dict[str, Any]] = {(r["condition"], r["phase"], r["repeat"]): r for r in rows}
    out = [
        "Each cell: the outcome the function reported, then (→) whether the master was off the "
        "HAVIP at the end, the time taken, and the error code reported. *Once* runs with a 6 s "
        "deadline (recovery is the point), *repeatedly* with a 2 s deadline (ending on time, "
        "honestly, is the point).",
        "",
        "| Condition | " + " | ".join(f"{p} once | {p} repeatedly" for p in PHASES) + " |",
        "|---|" + "---|" * (2 * len(PHASES)),
    ]
    for condition in conditions:
        cells = []
        for phase in PHASES:
            for repeat in ("once", "repeatedly"):
                r = cell.get((condition, phase, repeat))
                if r is None:
                    cells.append("—")
                    continue
                final = "off" if r["final"] == "unassociated" else "still on"
                err = f" `{r['error']}`" if r.get("error") else ""
                flag = " ⚠" if r["problems"] else ""
                cells.append(f"{r['outcome']} → {final}, {r['elapsedMs'] / 1000:.1f} s{err}{flag}")
        out.append(f"| {condition} | " + " | ".join(cells) + " |")
    for r in (r for r in rows if r not in matrix):
        out.append("")
        out.append(
            f"Also: **{r['condition']}** in the {r['phase']} phase: {r['outcome']} after "
            f"{r['unassociateCalls']} calls ({r['elapsedMs'] / 1000:.1f} s)."
        )
    problems = [r for r in rows if r["problems"]]
    out.append("")
    out.append(
        f"{len(rows)} cases; {len(problems)} with a problem"
        + (": " + "; ".join(f"{r['condition']}/{r['phase']}: {r['problems']}" for r in problems) if problems else ".")
        + " Every case: one ClientToken for all its UnassociateHaVip calls, Force only with the master, "
        "no call before the HAVIP was seen, `ok` false exactly when the outcome is `failed`/`pending`, "
        "no secret in the output."
    )
    return out


def races(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| Case | Expected | Observed |", "|---|---|---|"]
    out += [f"| {r['case']} | {r['expected']} | {r['observed']} |" for r in rows]
    return out


def properties(p: dict[str, Any]) -> list[str]:
    out = [
        f"{p['examples']} generated examples (hypothesis, derandomized: {p['derandomized']}; "
        f"`HAVIP_PROPERTY_EXAMPLES={p['max_examples_setting']}`): random HA pairs (ECS and ENI, "
        "master known or not, one or two instances, other HAVIPs around, allowlist on or off), random "
        "events of every source, random configurations (Force policy, last instance, dry run, short "
        "waits) and random fault schedules. Per example the invariants below were checked on the "
        "emulator's journal and the result; *exercised* counts the examples where the situation "
        "arose (e.g. a call was made).",
        "",
        "| Invariant | Held | Exercised |",
        "|---|---|---|",
    ]
    for name, inv in p["invariants"].items():
        out.append(f"| {inv['description']} (`{name}`) | {inv['held']} of {p['examples']} | {inv['exercised']} |")
    sources = ", ".join(f"{k} {v}" for k, v in sorted(p["event_sources"].items()))
    faults = ", ".join(f"{k} {v}" for k, v in sorted(p["fault_kinds"].items()))
    out += ["", f"Event sources: {sources}.", "", f"Fault kinds injected: {faults}."]
    return out


def sequences(s: dict[str, Any] | None) -> list[str]:
    if s is None:
        return ["(tests/reliability/test_safety_sequences.py wrote no figures)"]
    steps = ", ".join(f"{k} {v}" for k, v in sorted(s["steps"].items()))
    lags = ", ".join(f"{k} s: {v}" for k, v in sorted(s["lag"].items()))
    nodes = ", ".join(f"{k} node(s): {v}" for k, v in sorted(s["final_nodes"].items()))
    shapes = ", ".join(f"{k} {v}" for k, v in sorted(s.get("shapes", {}).items()))
    situations = ", ".join(f"{k} {v}" for k, v in sorted(s.get("situations", {}).items()))
    return [
        f"**{s['sequences']}** random sequences of invocations of the real entry against one HAVIP "
        f"({shapes}; in memory, on the emulator's own model, fake clocks: "
        "tests/reliability/test_safety_sequences.py), each up to 8 steps — "
        f"{steps} — with a describe lagging by {lags}, throttles on every call, re-deliveries of "
        "the same incidents, another actor removing or adding nodes, reconciles with failback, "
        "forged and malformed tags, record writes and reads that fail, FC instances whose clocks "
        "disagree, and another invocation while a call is served. What arose: "
        f"{situations}. {s['unassociate_calls']} UnassociateHaVip and {s['associate_calls']} "
        "AssociateHaVip calls were checked against the truth at the moment they were served: the "
        "HAVIP never ended with no node (other than by another actor's own removal or a race with "
        f"it: {s['excused_races']} sequences); no node was taken off while no other node was "
        "Running (unless a person ordered it); two incidents never shared a ClientToken and a "
        "re-delivery always did; a failback never forced, never added a node the function had not "
        "removed or without a signed entry or not Running, never made a HAVIP hold more than "
        "before; a second reconcile with nothing changed made no call that changes anything; no "
        "forged tag, refreshed at the end, kept a dead master on the HAVIP; a drill never took the "
        "master off, and one that reported done left the HAVIP's nodes, master and record as it found "
        "them. The HAVIP at the end: "
        f"{nodes}.",
    ]


def fuzz(f: dict[str, Any]) -> list[str]:
    bulk = f["bulk"]
    codes = Counter(bulk["rejection_codes"]).most_common(12)
    ops = ", ".join(f"{k} {v}" for k, v in sorted(bulk["operations"].items()))
    hyp = sum(f.get("hypothesis_cases", {}).values())
    return [
        f"**{bulk['total']:,}** mutated events (`HAVIP_FUZZ_CASES`, fixed seed) through the FC entry, "
        f"pointed at the emulator, every sample of `events/` as a seed, plus {hyp} hypothesis-generated "
        f"ones: **{bulk['exceptions']} exceptions** escaped; {bulk['rejected']:,} were rejected, all with "
        "a code and a message naming the problem and **zero API calls**; "
        f"{bulk['must_reject']:,} mutations that had to be rejected were ({bulk['must_reject_rejected']:,}); "
        f"{bulk['accepted_after_mutation']:,} were still valid events after mutation (then only "
        f"well-formed ids were ever acted on); {bulk['http_responses']:,} were answered as HTTP responses "
        f"(400/401/403/405); {bulk['problems']} problems. Took {bulk['seconds']} s.",
        "",
        "Most frequent rejection codes: " + ", ".join(f"`{c}` {n}" for c, n in codes) + ".",
        "",
        f"Mutations: {ops}.",
    ]


def main() -> int:
    faults, race_rows, props, fz = load("faults"), load("races"), load("properties"), load("fuzz")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reliability: faults, races and bad input",
        "",
        f"Generated by `make reliability` on {now} (commit {commit or 'unknown'}, Python "
        f"{platform.python_version()}) from the figures the tests in `tests/reliability/` wrote. Every "
        "case drives the FC entry (`index.handler`'s code) with the real SDK over real HTTP against the "
        "local VPC emulator; the cross-process cases start separate Python processes.",
        "",
        "## Faults × phases",
        "",
        "Phases: " + "; ".join(f"*{p}*: {PHASE_NOTES[p]}" for p in PHASES) + ".",
        "",
        *fault_matrix(faults),
        "",
        "## Races, re-delivery, deadlines, security",
        "",
        *races(race_rows),
        "",
        "## Invariants, property-based",
        "",
        *properties(props),
        "",
        "## Safety over sequences of invocations",
        "",
        *sequences(load("sequences") if (FIGURES / "sequences.json").exists() else None),
        "",
        "## Bad input, fuzzed",
        "",
        *fuzz(fz),
        "",
        "## Security",
        "",
        "- The callback token is required on every HTTP-trigger request (none configured: every "
        "request refused, 403), compared with `hmac.compare_digest` (a test swaps it for a spy), and "
        "never echoed; tokens of the wrong length or place get 401/403 and no API call.",
        "- AccessKey secrets, STS tokens and the callback token were searched for in the captured "
        "output and results of every scenario above: never found.",
        "- A wrong signature is answered by the emulator with `SignatureDoesNotMatch`; the function "
        "reports a permanent authentication failure after one call, no retry loop.",
        "",
        "## Limitations found and not fixed",
        "",
        LIMITATIONS,
    ]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
