"""Delivery suite: helmfile, environments, GitHub workflows and docker-compose.

Imports go through the `tests` package (pytest's pythonpath is the repository root), never by
putting tests/ itself on sys.path: that would let tests/platformctl shadow the real package.
"""
