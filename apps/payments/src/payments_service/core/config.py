from pydantic import Field
from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    service_name = "payments"
    model_config = SettingsConfigDict(env_prefix="PAYMENTS_")

    allowed_currencies: list[str] = ["EUR", "USD", "GBP"]
    # Upper bound of one charge, in minor units.
    max_amount: int = Field(1_000_000, gt=0)
