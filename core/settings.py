"""Typed settings, read from the environment (prefix ``RELAIS_``) and an optional ``.env`` file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a Relais process can be configured with; built once in the entry point."""

    model_config = SettingsConfigDict(env_prefix="RELAIS_", env_file=".env", extra="ignore")

    database_url: str = Field(default="sqlite:///./var/relais.db")
    default_language: str = "fr"
    default_timezone: str = "Europe/Paris"
    briefing_time: str = "08:00"

    telegram_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_port: int = 8443

    discord_token: SecretStr | None = None
    discord_rest_base_url: str | None = None
    discord_gateway_url: str | None = None
    discord_shard_count: int | None = None
    # Discord events cannot be fetched again: while the database is unreachable they are kept, and also
    # written to this file so that a restart does not lose them (empty: memory only). One per process.
    discord_inbox_spool: str | None = "./var/discord-inbox.jsonl"

    recognition_threshold: float | None = None
    match_radius_km: float = 50.0
    match_radius_max_km: float = 400.0
    maker_daily_cap: int = 5
    guidance_cooldown_hours: float = 24.0
    escalation_reminder_hours: float = 4.0
    escalation_handover_hours: float = 24.0
    stale_commitment_hours: float = 72.0
    retention_days: int = 90
    # Largest /export file sent, in bytes, below the platform's own upload limit (None: the platform's).
    export_max_bytes: int | None = None
    max_text_length: int = 4000
    flood_limit_per_minute: int = 20

    geocoder_online: bool = False
    geocoder_user_agent: str = "relais-crisis-hub"

    official_channel_url: str = "https://www.ansm.sante.fr"
    open_research_url: str = "https://github.com/search?q=covid+ventilator"
    trusted_sources: list[str] = Field(default_factory=lambda: ["https://www.gouvernement.fr/info-coronavirus"])

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        """Accept ``postgres://`` URLs as hosting platforms give them, and use psycopg 3."""
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix):]
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("fr", "en"):
            raise ValueError("default_language must be 'fr' or 'en'")
        return value

    def sqlite_path(self) -> Path | None:
        if self.database_url.startswith("sqlite:///"):
            path = self.database_url[len("sqlite:///"):]
            return Path(path) if path and path != ":memory:" else None
        return None

    def missing_for_run(self) -> list[str]:
        """Names of the settings that would let ``relais run`` start at least one bot."""
        if self.telegram_token or self.discord_token:
            return []
        return ["RELAIS_TELEGRAM_TOKEN", "RELAIS_DISCORD_TOKEN"]
