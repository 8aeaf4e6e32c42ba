"""auth: issues short-lived EdDSA JWTs and publishes the JWKS that every verifier trusts."""

from fastapi import FastAPI
from servicekit.app import build_or_exit, create_service_app
from servicekit.logging import configure_logging, get_logger

from auth_service.api.routes import router
from auth_service.core.config import AuthSettings
from auth_service.core.keys import Keyring
from auth_service.core.throttle import PasswordGrantThrottle
from auth_service.core.users import Directory
from auth_service.devsecrets import generate_signing_key_pem


def build_app(settings: AuthSettings) -> FastAPI:
    configure_logging(settings)
    if settings.signing_key is not None:
        signing_pem = settings.signing_key.get_secret_value()
    else:
        # Development only (production refuses to start without a key): an ephemeral key,
        # which replicas do not share. `platformctl up` provides a shared one.
        get_logger("auth").warning("no AUTH_SIGNING_KEY; using an ephemeral development key")
        signing_pem = generate_signing_key_pem()
    previous = settings.previous_public_keys
    keyring = Keyring.from_pem(signing_pem, previous.get_secret_value() if previous else None)
    directory = Directory.from_json(settings.users.get_secret_value() if settings.users else None)
    app = create_service_app(
        settings,
        routers=[router],
        description="Issues access tokens (OAuth2 password and client credentials) and JWKS.",
        key_source=keyring,
    )
    app.state.keyring = keyring
    app.state.directory = directory
    app.state.password_throttle = PasswordGrantThrottle(settings.password_grants_per_minute)
    return app


def create_app() -> FastAPI:
    return build_or_exit(AuthSettings, build_app)
