from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service_name = "notifications"
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_")
