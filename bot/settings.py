"""Settings read once from the environment (and `.env`), frozen, validated at start."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z0-9-]{1,63}$")
_SLACK_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    db_path: Path = Path("rapport.db")
    internal_domains: tuple[str, ...] = ()
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    host: str = "0.0.0.0"
    half_life_days: float = 180.0
    admin_user_ids: tuple[str, ...] = ()
    excluded_addresses: tuple[str, ...] = ()
    excluded_domains: tuple[str, ...] = ()
    google_service_account_file: Path | None = None
    google_token_uri: str | None = None
    google_api_url: str | None = None
    google_oauth_tokens_dir: Path | None = None
    google_max_messages: int = 1000
    google_sync_days: int = 365
    sync_interval_minutes: int = 30
    digest_channel: str | None = None
    digest_weekday: int = 0
    digest_hour: int = 9
    cold_after_days: int = 45
    default_timezone: str = "UTC"
    reminder_hour: int = 9
    delivery_grace_hours: int = 12

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def require_slack(self) -> None:
        """Fail fast when the Slack credentials needed to serve are absent."""
        if not self.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is required to talk to Slack")
        if not self.slack_bot_token.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN must be a bot token (xoxb-...)")
        if not self.slack_signing_secret and not self.socket_mode:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is required for HTTP mode "
                "(or set SLACK_APP_TOKEN for Socket Mode)"
            )
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            raise SettingsError("SLACK_APP_TOKEN must be an app-level token (xapp-...)")


def load_settings(
    environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env")
) -> Settings:
    """Build settings from `.env` overlaid by the real environment."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        try:
            pairs = dotenv_values(env_file)
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"cannot read {env_file}: {exc}") from None
        values.update({k: v for k, v in pairs.items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return _parse(values)


def _parse(env: Mapping[str, str]) -> Settings:
    def text(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    return Settings(
        db_path=Path(text("RAPPORT_DB") or "rapport.db"),
        internal_domains=_domains(env, "RAPPORT_INTERNAL_DOMAINS"),
        slack_bot_token=text("SLACK_BOT_TOKEN"),
        slack_signing_secret=text("SLACK_SIGNING_SECRET"),
        slack_app_token=text("SLACK_APP_TOKEN"),
        slack_api_url=_url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL),
        port=_int(env, "PORT", 3000, low=1, high=65535),
        host=text("RAPPORT_HOST") or "0.0.0.0",
        half_life_days=_float(
            env, "RAPPORT_HALF_LIFE_DAYS", 180.0, low=1.0, high=36500.0
        ),
        admin_user_ids=_slack_ids(env, "RAPPORT_ADMIN_USER_IDS"),
        excluded_addresses=_csv(env, "RAPPORT_EXCLUDED_ADDRESSES", lower=True),
        excluded_domains=_domains(env, "RAPPORT_EXCLUDED_DOMAINS"),
        google_service_account_file=_path(env, "RAPPORT_GOOGLE_SERVICE_ACCOUNT_FILE"),
        google_token_uri=text("RAPPORT_GOOGLE_TOKEN_URI"),
        google_api_url=text("RAPPORT_GOOGLE_API_URL"),
        google_oauth_tokens_dir=_path(env, "RAPPORT_GOOGLE_OAUTH_TOKENS_DIR"),
        google_max_messages=_int(
            env, "RAPPORT_GOOGLE_MAX_MESSAGES", 1000, low=1, high=10_000_000
        ),
        google_sync_days=_int(env, "RAPPORT_GOOGLE_SYNC_DAYS", 365, low=1, high=36500),
        sync_interval_minutes=_int(
            env, "RAPPORT_SYNC_INTERVAL_MINUTES", 30, low=1, high=10080
        ),
        digest_channel=text("RAPPORT_DIGEST_CHANNEL"),
        digest_weekday=_int(env, "RAPPORT_DIGEST_WEEKDAY", 0, low=0, high=6),
        digest_hour=_int(env, "RAPPORT_DIGEST_HOUR", 9, low=0, high=23),
        cold_after_days=_int(env, "RAPPORT_COLD_AFTER_DAYS", 45, low=1, high=3650),
        default_timezone=_timezone(env, "RAPPORT_DEFAULT_TIMEZONE"),
        reminder_hour=_int(env, "RAPPORT_REMINDER_HOUR", 9, low=0, high=23),
        delivery_grace_hours=_int(
            env, "RAPPORT_DELIVERY_GRACE_HOURS", 12, low=1, high=24 * 6
        ),
    )


def _csv(env: Mapping[str, str], name: str, *, lower: bool = False) -> tuple[str, ...]:
    raw = env.get(name, "")
    items = [item.strip() for item in raw.split(",") if item.strip()]
    return tuple(item.lower() for item in items) if lower else tuple(items)


def _domains(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    domains = _csv(env, name, lower=True)
    for domain in domains:
        if not _DOMAIN_RE.match(domain):
            raise SettingsError(f"{name}: {domain!r} is not a domain like firm.com")
    return domains


def _slack_ids(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    ids = _csv(env, name)
    for user_id in ids:
        if not _SLACK_ID_RE.match(user_id):
            raise SettingsError(
                f"{name}: {user_id!r} is not a Slack user id like U0123ABC"
            )
    return ids


def _int(
    env: Mapping[str, str],
    name: str,
    default: int,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    # int() would also take "1_000" and non-ASCII digits; a setting should not.
    if not re.fullmatch(r"-?[0-9]{1,12}", raw):
        raise SettingsError(f"{name} must be a whole number, not {raw!r}")
    value = int(raw)
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            raise SettingsError(f"{name} must be at least {low}, not {value}")
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _float(
    env: Mapping[str, str], name: str, default: float, *, low: float, high: float
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}, not {raw}")
    return value


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not re.match(r"^https?://[^/\s]+", raw):
        raise SettingsError(f"{name} must be an http(s) URL, not {raw!r}")
    return raw if raw.endswith("/") else raw + "/"


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name, "").strip()
    return Path(raw) if raw else None


def _timezone(env: Mapping[str, str], name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    raw = env.get(name, "").strip() or "UTC"
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{name}: {raw!r} is not an IANA time zone") from None
    return raw
