"""Shared plumbing for the platform's FastAPI services.

A service builds its app with :func:`servicekit.app.create_service_app` and gets operational
endpoints, metrics, JSON logs, request ids, problem+json errors, JWT verification, an outbound
client, fault injection and graceful shutdown from here, so no service repeats them.
"""
