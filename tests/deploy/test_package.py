"""`make package` (scripts/package.sh) builds the deployable zip, and the entry imported from that
zip alone, in a clean python3.10 with nothing else on sys.path, fails a HAVIP over.

The build is cached by scripts/package.sh (dependencies keyed by the requirements' hash), so
only the first run of `make test` pays for the pip install.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from havip_failover.samples import retime
from tests.conftest import RECORD_KEY
from tests.deploy.deployfiles import EVENTS, HANDLER, ROOT
from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair

SCRIPT = ROOT / "scripts" / "package.sh"
ZIP = ROOT / "dist" / "havip-failover.zip"
AK, SECRET = "LTAIemulatorKey", "emulator-secret"
HAVIP = "havip-bp1pair0000000001"
MASTER, STANDBY = "i-bp1master000000001", "i-bp1standby00000001"

# What the FC python runtime does on a cold instance: the code directory on sys.path, import the
# entry module, the initializer, then the handler with the event as bytes and a context.
# Run as `python3.10 -I -S -B child.py`: no site-packages, no PYTHONPATH, no user site, and no
# bytecode written (FC's code directory is read-only: every cold start compiles afresh).
CHILD = r"""
import json, sys, time, types
code_dir, event_path, shape, report_path = sys.argv[1:5]
stdlib = [p for p in sys.path if p]
sys.path[:] = [code_dir] + stdlib
started = time.monotonic()
import index
imported = time.monotonic()
ns = types.SimpleNamespace
function = ns(name="havip-failover", handler="index.handler", memory=1024, timeout=60)
context = ns(request_id="req-package-test", function=function, region="cn-hangzhou", account_id="1234567890123456")
if shape == "python3.10":
    context.credentials = ns(access_key_id="LTAIemulatorKey", access_key_secret="emulator-secret", security_token="")
    context.service = ns(name="havip-failover", log_project="", log_store="", qualifier="LATEST", version_id="")
# (python3.12: neither credentials nor service in the context)
index.initialize(context)
with open(event_path, "rb") as f:
    event = f.read()
result = index.handler(event, context)
done = time.monotonic()
outside = sorted(
    (name, getattr(m, "__file__", None)) for name, m in list(sys.modules.items())
    if name not in ("__main__", "__mp_main__") and getattr(m, "__file__", None) and not m.__file__.startswith(code_dir)
    and not any(m.__file__.startswith(p) for p in stdlib)
)
with open(report_path, "w") as f:
    json.dump({"result": result, "path": sys.path, "outside": outside, "index": index.__file__,
               "import_s": imported - started, "invoke_s": done - imported}, f)
"""


def _python310() -> str | None:
    found = subprocess.run(["bash", str(ROOT / "scripts" / "pythons.sh")], capture_output=True, text=True, check=False)
    for candidate in found.stdout.split():
        version = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if version.stdout.strip() == "3.10":
            return candidate
    return None


def _clean_env(**extra: str) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_INDEX_URL", "PIP_CONFIG_FILE", "PIP_CACHE_DIR"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def python310() -> str:
    found = _python310()
    if found is None:
        pytest.skip(
            "no python3.10 on this machine (scripts/pythons.sh): the package is built for, "
            "and tried in, the python3.10 runtime's Python"
        )
    return found


@pytest.fixture(scope="module")
def built(python310: str) -> str:
    """Run scripts/package.sh as `make package` does; returns what it printed."""
    result = subprocess.run(
        ["bash", str(SCRIPT)], cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, f"scripts/package.sh failed:\n{result.stdout}\n{result.stderr}"
    assert ZIP.is_file()
    return result.stdout


@pytest.fixture(scope="module")
def unpacked(built: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("package")
    with zipfile.ZipFile(ZIP) as zf:
        zf.extractall(target)
    return target


def test_the_zip_holds_the_code_directory_and_its_dependencies(built: str) -> None:
    with zipfile.ZipFile(ZIP) as zf:
        names = set(zf.namelist())
        own = {p.relative_to(HANDLER).as_posix() for p in HANDLER.rglob("*") if p.is_file()}
        own = {
            n for n in own if "__pycache__" not in n and not n.endswith(".pyc") and not n.startswith("3rd-packages/")
        }
        assert own <= names, own - names
        for name in own:  # byte for byte what is in handler/
            assert zf.read(name) == (HANDLER / name).read_bytes(), name
    assert "index.py" in names  # at the root: FC imports `index` from the code directory
    # every pinned runtime dependency, at its pinned version
    for line in (HANDLER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        requirement = line.split("#")[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            dist_info = f"{name.strip().replace('-', '_')}-{version.strip()}.dist-info/METADATA".lower()
            assert dist_info in {n.lower() for n in names}, f"{requirement} is not in the package"
    # byte code for every module, for the runtime's Python, loaded without source checks
    # (the code directory is read-only on FC: no byte code cache would ever be written)
    sources = [n for n in names if n.endswith(".py")]
    for name in sources:
        folder, _, module = name.rpartition("/")
        pyc = f"{folder + '/' if folder else ''}__pycache__/{module[:-3]}.cpython-310.pyc"
        assert pyc in names, f"{name} has no byte code"
    with zipfile.ZipFile(ZIP) as zf:
        header = zf.read("__pycache__/index.cpython-310.pyc")[:8]
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked
    assert not [n for n in names if n.split("/")[0] in ("tests", "vpc_emulator", "events", "bench", "3rd-packages")]
    assert not [n for n in names if n.endswith(".so") and "cpython-3" in n and "cpython-310" not in n]
    assert re.search(r"dist/havip-failover\.zip: \d+ bytes \([\d.]+ MiB\)", built), built


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    backend = VpcBackend(unassociate_delay=0.2)
    backend.seed(two_node_pair())
    with EmulatorServer(backend) as server:
        yield server


def _invoke(
    *, python310: str, unpacked: Path, event: str, shape: str, env: dict[str, str], tmp_path: Path
) -> dict[str, Any]:
    child = tmp_path / "child.py"
    child.write_text(CHILD, encoding="utf-8")
    report = tmp_path / "report.json"
    sample = tmp_path / event  # the sample as it should arrive to be acted on: its times set to now
    sample.write_bytes(retime((EVENTS / event).read_bytes()))
    result = subprocess.run(
        [python310, "-I", "-S", "-B", str(child), str(unpacked), str(sample), shape, str(report)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    loaded = json.loads(report.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    # only the unpacked package and the standard library were used
    assert loaded["path"][0] == str(unpacked)
    assert not [p for p in loaded["path"] if "site-packages" in p or str(ROOT) in p], loaded["path"]
    assert loaded["outside"] == [], loaded["outside"]
    assert loaded["index"] == str(unpacked / "index.py")
    # the function's log lines went to stdout as JSON, as FC collects them
    decisions = [json.loads(line) for line in result.stdout.splitlines() if '"havip.decision"' in line]
    assert decisions, result.stdout
    assert SECRET not in result.stdout + result.stderr
    return loaded


@pytest.mark.parametrize(
    ("shape", "event", "instance", "force"),
    [
        # python3.10 runtime: the role's credentials in context.credentials, none in the environment
        ("python3.10", "eventbridge-ecs-stopped-standby.json", STANDBY, "false"),
        # python3.12 runtime: no context.credentials, ALIBABA_CLOUD_* variables instead
        ("python3.12", "manual-master.json", MASTER, "true"),
    ],
)
def test_the_packaged_entry_fails_a_havip_over_in_a_clean_interpreter(
    *,
    python310: str,
    unpacked: Path,
    emulator: EmulatorServer,
    tmp_path: Path,
    shape: str,
    event: str,
    instance: str,
    force: str,
) -> None:
    env = _clean_env(
        FC_REGION="cn-hangzhou",
        HAVIP_VPC_ENDPOINT=emulator.endpoint,
        HAVIP_ECS_ENDPOINT=emulator.endpoint,
        HAVIP_VPC_PROTOCOL="http",
        HAVIP_WAIT_SECONDS="10",
        HAVIP_RECORD_KEY=RECORD_KEY,
    )
    if shape == "python3.12":
        env.update(ALIBABA_CLOUD_ACCESS_KEY_ID=AK, ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET)
    report = _invoke(python310=python310, unpacked=unpacked, event=event, shape=shape, env=env, tmp_path=tmp_path)
    result = report["result"]
    assert result["ok"] is True, result
    (outcome,) = result["results"]
    assert (outcome["haVipId"], outcome["instanceId"], outcome["outcome"]) == (HAVIP, instance, "unassociated"), outcome
    (call,) = emulator.calls("UnassociateHaVip")
    assert call.status == 200
    assert call.access_key_id == AK
    assert (call.params["HaVipId"], call.params["InstanceId"], call.params["Force"].lower()) == (HAVIP, instance, force)
    print(f"{shape}: import {report['import_s']:.2f} s, first invocation {report['invoke_s']:.2f} s", file=sys.stderr)


def test_an_unchanged_tree_packages_to_the_same_checksum(built: str, tmp_path: Path) -> None:
    # GIVEN the package `built` made (its byte code compiled under a random hash seed, as any
    # plain run is), WHEN scripts/package.sh runs again on the same tree under another seed
    first = tmp_path / "first.zip"
    first.write_bytes(ZIP.read_bytes())
    again = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=ROOT,
        env=_clean_env(PYTHONHASHSEED="12345"),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert again.returncode == 0, f"scripts/package.sh failed:\n{again.stdout}\n{again.stderr}"
    # THEN the zip is the same byte for byte (fc3 compares checksums to skip an upload)
    if hashlib.sha256(first.read_bytes()).hexdigest() != hashlib.sha256(ZIP.read_bytes()).hexdigest():
        with zipfile.ZipFile(first) as one, zipfile.ZipFile(ZIP) as two:
            crcs = ({i.filename: (i.CRC, i.external_attr, i.date_time) for i in z.infolist()} for z in (one, two))
            a, b = crcs
            differ = sorted(n for n in a.keys() | b.keys() if a.get(n) != b.get(n))
        pytest.fail(f"two builds of one tree differ in {len(differ)} entries: {differ[:10]}")
