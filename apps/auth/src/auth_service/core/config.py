from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings, required_in_production


class AuthSettings(ServiceSettings):
    service_name = "auth"
    model_config = SettingsConfigDict(env_prefix="AUTH_")

    # PEM-encoded Ed25519 private key. Only auth holds it; it comes from a mounted secret.
    signing_key: SecretStr | None = required_in_production()
    # PEM public keys of retired signing keys, still published in the JWKS while tokens
    # they signed may be alive (key rotation).
    previous_public_keys: SecretStr | None = None
    # JSON document of users and API clients with argon2 hashes (a mounted secret).
    users: SecretStr | None = required_in_production()
    token_ttl_seconds: int = Field(300, ge=30, le=3600)
    # Password grants per client (id, or address) per minute and replica: a brute-force bound.
    password_grants_per_minute: int = Field(600, ge=1)
