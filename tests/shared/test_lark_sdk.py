"""lark-oapi loaded lean still behaves as the SDK, in a fresh interpreter."""

import subprocess
import sys

PROBE = """
import sys
from aegis.shared.lark_sdk import load_lean
load_lean()
from lark_oapi.api.im.v1.resource.message import Message
# Current RSS: ru_maxrss would report the parent's peak, which Linux carries across exec.
status = open("/proc/self/status").read().split("VmRSS:")[1]
lean = int(status.split()[0]) // 1024
services = sum(1 for name in sys.modules if name.startswith("lark_oapi.api.") and name.count(".") == 2)
import lark_oapi
builder = lark_oapi.Client.builder()
print(lean, services, type(builder).__name__)
"""


def test_lean_load_skips_unused_services_yet_full_sdk_resolves_on_demand() -> None:
    """Only the im service loads at first (well under 100 MB); asking for `lark_oapi.Client` still works."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    lean_mb, services, builder = done.stdout.split()
    assert int(lean_mb) < 100
    assert int(services) == 1
    assert builder == "ClientBuilder"
