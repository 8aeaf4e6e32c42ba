from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings, dependency_url, required_in_production


class OrdersSettings(ServiceSettings):
    service_name = "orders"
    model_config = SettingsConfigDict(env_prefix="ORDERS_")

    payments_url: str = dependency_url("payments", "http://127.0.0.1:8003")
    notifications_url: str = dependency_url("notifications", "http://127.0.0.1:8004")
    # Client-credentials identity of orders at auth.
    client_id: str = "orders"
    client_secret: SecretStr | None = required_in_production()
    # Refresh the service token this long before it expires.
    token_refresh_margin_seconds: int = Field(30, ge=0)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
