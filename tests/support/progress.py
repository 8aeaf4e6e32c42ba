"""Progress lines that reach the terminal while pytest captures output: a first run builds the
cluster tools for half an hour, and must show that it does (and how long it took)."""

from __future__ import annotations

import pytest

_reporter = None


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    global _reporter
    _reporter = config.pluginmanager.get_plugin("terminalreporter")


def say(line: str) -> None:
    if _reporter is not None:
        _reporter.write_line(line)
    else:
        print(line)
