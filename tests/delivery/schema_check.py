"""check-jsonschema with its vendored schemas, offline and in-process (no interpreter start
per file set)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from check_jsonschema import main
from click.testing import CliRunner

# Any attempt to reach the network fails fast: the schemas must come from the package.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}


def builtin_schema_errors(schema: str, files: Sequence[Path]) -> str:
    """'' when every file validates against the builtin schema, else check-jsonschema's report."""
    args = ["--builtin-schema", schema, *(str(path) for path in files)]
    result = CliRunner(env=OFFLINE).invoke(main, args)
    if result.exit_code == 0:
        return ""
    return f"exit {result.exit_code}: {result.output}{result.exception or ''}"
