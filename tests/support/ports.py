"""Free loopback ports for test processes (never the stable 8001-8004/9001-9004/9090)."""

from platformctl.ports import free_port

__all__ = ["free_port"]
