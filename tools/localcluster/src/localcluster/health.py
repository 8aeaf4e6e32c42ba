"""Whether a daemon's health endpoint answers: the one check `up` waits on for each of them."""

from __future__ import annotations

import urllib.request


def answers_ok(url: str, timeout: float = 2) -> bool:
    """True when ``url`` answers 200 within ``timeout`` seconds; False on anything else."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False
