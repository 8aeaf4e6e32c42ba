"""The service images: one recipe (apps/Dockerfile), built with docker or podman, on the
upstream Python base where a registry answers and on a Debian-built base where none does."""

SERVICES = ("auth", "orders", "payments", "notifications")
