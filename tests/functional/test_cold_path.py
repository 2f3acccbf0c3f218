"""What a cold instance imports, and when: the SDK only when a failover needs it, or in the
initializer (which FC runs before the first event)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import BASE_ENV

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import index
seen = {"import": "alibabacloud_tea_openapi.client" in sys.modules}
r = index.handler(b'{"type": "havip.health", "instanceId": "i-bp1abc", "healthy": true, "id": "x"}', None)
seen["recovery"] = "alibabacloud_tea_openapi.client" in sys.modules
seen["ok"] = r["ok"]
index.initialize(None)
seen["initialize"] = "alibabacloud_tea_openapi.client" in sys.modules
seen["generated_client"] = "alibabacloud_vpc20160428.client" in sys.modules
print(json.dumps(seen))
"""


def test_sdk_is_imported_by_the_initializer_not_by_import_or_a_recovery() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "handler")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**BASE_ENV, "PATH": "/usr/bin:/bin"},
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"import": False, "recovery": False, "ok": True, "initialize": True, "generated_client": False}
