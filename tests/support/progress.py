"""Progress lines that reach the terminal while pytest captures output: a first run builds the
cluster tools for half an hour, and must show that it does (and how long it took)."""

from __future__ import annotations

import pytest

_config: pytest.Config | None = None


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    global _config
    _config = config


def say(line: str) -> None:
    reporter = _config and _config.pluginmanager.get_plugin("terminalreporter")
    capture = _config and _config.pluginmanager.get_plugin("capturemanager")
    if not reporter or not capture:
        print(line)
        return
    # Output is captured while a fixture runs: step around it, as capsys.disabled() does.
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)
