"""The documentation's checkable claims: the README stays short, every relative link resolves,
the RAM actions the docs list are the policy's, every outcome and reason the engine reports is in
docs/operations.md, and nothing in the repository cites a document outside it."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.deployfiles import README, ROOT, policy

DOCS = ROOT / "docs"
OPERATIONS = DOCS / "operations.md"
DEPLOYMENT = DOCS / "deployment.md"
MAX_README_LINES = 300

# Built from pieces, so that this file does not match its own patterns.
OUTSIDE_CITATIONS = {
    "a design document outside the repository": re.compile("DESIGN" + r"(?:\s*" + "\u00a7|\\.md)"),
    "the shared/ directory beside the checkout": re.compile(r"\.\./" + "shared"),
    "a path into shared/ beside the checkout": re.compile(r"parent\s*/\s*\"" + "shared" + '"'),
}
# Where a walk of the tree (no git) must not look: environments, tools, build output.
NOT_THE_PROJECT = {
    ".git",
    ".hypothesis",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
}

# `vpc:Action` / `ecs:Action` as RAM writes them; not an event type (`ecs:Instance:StateChange`)
# nor part of an ARN (`acs:vpc:*:*:havip/*`).
RAM_ACTION = re.compile(r"(?<![\w:])((?:vpc|ecs|eventbridge):[A-Z][A-Za-z]+)(?![\w:.])")
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
IMAGE = re.compile(r"!\[[^\]\n]*\]\(([^)\s]+)\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def _tracked_files() -> list[Path]:
    """The repository's files (tracked, or new and not ignored): git's list when this is a
    checkout, else a walk of the tree."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode("utf-8", "surrogateescape")
    except (OSError, subprocess.SubprocessError):
        return [
            p
            for p in ROOT.rglob("*")
            if p.is_file()
            and not any(part in NOT_THE_PROJECT or part.startswith(".venv") for part in p.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def _markdown_files() -> list[Path]:
    found = {README, *DOCS.glob("*.md")}
    found.update(p for p in _tracked_files() if p.suffix == ".md")
    return sorted(found)


def _prose(text: str) -> Iterator[str]:
    """The lines of a Markdown text outside fenced code blocks."""
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield line


def _without_code_spans(line: str) -> str:
    return re.sub(r"`[^`]*`", "", line)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in _prose(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        slug = _slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _links(path: Path) -> list[str]:
    links: list[str] = []
    for raw in _prose(path.read_text(encoding="utf-8")):
        line = _without_code_spans(raw)
        links += LINK.findall(line) + IMAGE.findall(line) + REFERENCE.findall(line)
    return links


def _policy_actions() -> set[str]:
    actions: set[str] = set()
    for statement in policy("ram-policy.json")["Statement"]:
        granted = statement["Action"]
        actions.update([granted] if isinstance(granted, str) else granted)
    return actions


def _section(path: Path, title: str) -> str:
    """The text of `path`'s `## <title>` section, up to the next `## ` heading."""
    text = path.read_text(encoding="utf-8")
    start = text.find(f"\n## {title}\n")
    assert start >= 0, f"{path.relative_to(ROOT)} has no '## {title}' section"
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def test_the_readme_is_read_in_ten_minutes() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines (at most {MAX_README_LINES}): move the detail to docs/"
    )


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    broken: list[str] = []
    for link in _links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link, flags=re.IGNORECASE):  # https:, mailto:, …
            continue
        target_part, _, fragment = link.partition("#")
        target = (path.parent / target_part).resolve() if target_part else path
        if ROOT.resolve() not in (target, *target.parents):
            broken.append(f"{link}: outside the repository")
        elif not target.exists():
            broken.append(f"{link}: no such file")
        elif fragment and target.suffix == ".md" and fragment not in _anchors(target):
            broken.append(f"{link}: {target.relative_to(ROOT.resolve())} has no heading #{fragment}")
    assert broken == [], f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_docs_list_the_ram_actions_the_policy_grants() -> None:
    granted = _policy_actions()
    assert granted, "policies/ram-policy.json grants nothing: the scan is broken"
    # Wherever the documentation names a RAM action, the policy grants it.
    for path in [README, *sorted(DOCS.glob("*.md"))]:
        named = set(RAM_ACTION.findall(path.read_text(encoding="utf-8")))
        assert named <= granted, f"{path.relative_to(ROOT)} names actions the policy does not grant: {named - granted}"
    # Where it says what the role grants, it lists all of it.
    readme_deploy = set(RAM_ACTION.findall(_section(README, "Deploy")))
    assert readme_deploy == granted, f"README 'Deploy' lists {sorted(readme_deploy)}, the policy {sorted(granted)}"
    table = _section(DEPLOYMENT, "The RAM role")
    rows = set(re.findall(r"^\| `((?:vpc|ecs|eventbridge):[A-Za-z]+)` \|", table, flags=re.MULTILINE))
    assert rows == granted, f"docs/deployment.md's RAM table lists {sorted(rows)}, the policy {sorted(granted)}"


def _code_outcomes_and_reasons() -> tuple[set[str], set[str]]:
    """The outcomes and reasons the code can report: its typed vocabularies (mypy holds every
    reason the code writes to them), and the reconciler's plan reasons."""
    from typing import get_args

    from havip_failover.decide import PlanReason
    from havip_failover.model import Reason
    from havip_failover.result import Outcome

    return {o.value for o in Outcome}, {*get_args(Reason), *get_args(PlanReason)}


def test_operations_lists_every_outcome_and_reason_the_engine_reports() -> None:
    outcomes, reasons = _code_outcomes_and_reasons()
    assert {"unassociated", "skipped", "failed", "pending"} <= outcomes, f"the scan is broken: {outcomes}"
    assert {"master-failed", "last-instance", "no-running-survivor"} <= reasons, f"the scan is broken: {reasons}"
    section = _section(OPERATIONS, "Outcomes and reasons")
    documented = set(re.findall(r"`([a-z]+(?:-[a-z<>A-Z]+)*)`", section))
    assert outcomes <= documented, f"docs/operations.md does not list the outcomes {sorted(outcomes - documented)}"
    assert reasons <= documented, f"docs/operations.md does not list the reasons {sorted(reasons - documented)}"


def test_nothing_cites_a_document_outside_the_repository() -> None:
    found: list[str] = []
    for path in _tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for what, pattern in OUTSIDE_CITATIONS.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == [], "the repository must stand alone:\n" + "\n".join(found)
