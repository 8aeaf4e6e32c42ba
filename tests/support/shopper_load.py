"""The k6 command for the tests' shopper load scripts (``tests/support/k6/shopper.js``): the
platform's stable URLs and the development user, plus what each script takes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

K6 = str(Path(sys.executable).with_name("k6"))


class LocalPlatform(Protocol):
    def url(self, service: str) -> str: ...
    def credentials(self) -> dict[str, str]: ...


def shopper_load_command(
    script: Path, platform: LocalPlatform, *k6_flags: str, **variables: str
) -> list[str]:
    creds = platform.credentials()
    env = {
        "ORDERS_URL": platform.url("orders"),
        "AUTH_URL": platform.url("auth"),
        "USERNAME": creds["username"],
        "PASSWORD": creds["password"],
        **variables,
    }
    # --address 127.0.0.1:0: k6's REST API on a free port, so runs can overlap.
    command = [K6, "run", "--quiet", "--no-usage-report", "--address=127.0.0.1:0", *k6_flags]
    for key, value in env.items():
        command += ["-e", f"{key}={value}"]
    return [*command, str(script)]
