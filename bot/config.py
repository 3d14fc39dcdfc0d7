"""Settings from the environment (and ``.env``) plus the scheduler list in ``maintbot.toml``.

``maintbot.toml`` names scheduler instances and the *environment variables* that hold their
credentials; secrets are never written in it. Unknown keys are errors, so a typo is caught
at start-up with the key's name rather than silently ignored::

    [maintbot]
    deadline_seconds = 10          # per-scheduler budget for one check

    [schedulers.talend-prod]
    vendor = "talend"
    base_url = "https://api.eu.cloud.talend.com"
    environment_id = "5f1c…"
    client_id_env = "TALEND_CLIENT_ID"
    client_secret_env = "TALEND_CLIENT_SECRET"
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError, redact
from bot.vendors import VENDORS
from bot.zones import lookup_zone

__all__ = [
    "Config",
    "SchedulerConfig",
    "Settings",
    "load_config",
    "load_settings",
]


# Shared with VendorHttp, whose default it is when no config is involved.
DEFAULT_MAX_RESPONSE_MB = 20.0
# Five minutes: a check repeated while a window is being planned reuses what changes slowly,
# and nothing reused is older than a typical planning conversation.
DEFAULT_CACHE_SECONDS = 300.0
MAX_CACHE_SECONDS = 3600.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Numbers are strict (TOML `true` or "10" is not a number of seconds) and finite: `inf`
# and `nan` are valid TOML, and an infinite deadline is a check that never ends.
Seconds = Annotated[float, Field(strict=True, gt=0, le=3600, allow_inf_nan=False)]
PerMinute = Annotated[float, Field(strict=True, gt=0, le=1_000_000, allow_inf_nan=False)]


class SchedulerConfig(_Strict):
    """What every ``[schedulers.<name>]`` table has. Each vendor's connector module defines
    the subclass for its own keys, with ``vendor`` narrowed to its name; the registry
    (:mod:`bot.vendors`) says which subclass a table's ``vendor`` picks."""

    vendor: str
    base_url: str
    deadline_seconds: Seconds | None = None
    timeout_seconds: Seconds = 10.0
    rate_per_minute: PerMinute | None = None
    max_concurrency: int = Field(default=10, strict=True, ge=1, le=100)
    # Runs that start up to this long before the window are checked for overlap by duration.
    lookback_hours: float = Field(default=12.0, strict=True, ge=0, le=72, allow_inf_nan=False)
    # Answers larger than this are refused, unread past the cap (an endless body once took
    # a worker to 7 GB); the default is far above any listing at enterprise scale.
    max_response_mb: float = Field(
        default=DEFAULT_MAX_RESPONSE_MB, gt=0, le=1024, allow_inf_nan=False
    )
    # The zone the scheduler's own wall clock keeps (where its daily and weekly triggers
    # are defined), for run times predicted from history across clock changes.
    timezone: str = "UTC"
    # How long an answer that changes slowly (a definition, a schedule listing, a duration
    # estimate) may be reused by the next check in the same process; 0 caches nothing.
    # What is running now and pause states that decide an action are always read live.
    cache_seconds: float = DEFAULT_CACHE_SECONDS

    @field_validator("cache_seconds", mode="before")
    @classmethod
    def _cache_seconds(cls, value: object) -> float:
        # One message for every wrong form; a bound of an hour keeps "never older than the
        # config says" meaningful next to what a maintenance window plans around.
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 <= value <= MAX_CACHE_SECONDS
        ):
            raise PydanticCustomError(
                "cache_seconds",
                f"must be a number of seconds from 0 (cache nothing) to {MAX_CACHE_SECONDS:g} "
                f"(an hour), such as {DEFAULT_CACHE_SECONDS:g}",
            )
        return float(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        found = lookup_zone(value) if len(value) <= 100 else None
        if found is None:
            raise PydanticCustomError(
                "timezone_unknown",
                'is not a time zone; write an IANA name such as "Europe/Berlin", '
                'or "UTC", or an offset such as "+05:30"',
            )
        return found[1]

    @field_validator("base_url", "iam_url", "appstream_url", "ims_url", check_fields=False)
    @classmethod
    def _plain_url(cls, value: str | None) -> str | None:
        # The value is never repeated in these messages: it may hold a password.
        if value is None:
            return value
        if len(value) > 2000:
            raise PydanticCustomError(
                "url_too_long",
                f"is {len(value):,} characters long; a scheduler's address fits in 2,000",
            )
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            host = None
        if host is None or parts.scheme not in ("http", "https"):
            raise PydanticCustomError(
                "url_invalid", "must be an http:// or https:// address with a host name"
            )
        if "@" in parts.netloc:
            raise PydanticCustomError(
                "url_userinfo",
                "must not carry a user name or password (user:password@host); put "
                "credentials in the environment variables this table names (*_env keys)",
            )
        return value

    def credential_envs(self) -> dict[str, str]:
        """Credential role → name of the environment variable holding it."""
        return {
            name.removesuffix("_env"): value
            for name, value in self.model_dump().items()
            if name.endswith("_env") and value
        }


class GeneralConfig(_Strict):
    deadline_seconds: Seconds = 10.0
    env_file: str | None = None


class Config(_Strict):
    """The parsed ``maintbot.toml``."""

    maintbot: GeneralConfig = GeneralConfig()
    schedulers: dict[str, SchedulerConfig] = Field(default_factory=dict)
    source: str | None = None
    extra_env: dict[str, str] = Field(default_factory=dict)

    @field_validator("schedulers", mode="before")
    @classmethod
    def _by_vendor(cls, value: object) -> object:
        # Each table becomes its vendor's own model; the errors keep pydantic's locations.
        return _scheduler_tables().validate_python(value)

    def deadline_for(self, name: str) -> float:
        own = self.schedulers[name].deadline_seconds
        return own if own is not None else self.maintbot.deadline_seconds

    def credentials(self, name: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Read the credentials of scheduler ``name`` from the environment; a missing variable
        is a ConfigError naming it (never its value)."""
        env = {**self.extra_env, **(os.environ if environ is None else environ)}
        found: dict[str, str] = {}
        missing: list[str] = []
        for role, var in self.schedulers[name].credential_envs().items():
            value = env.get(var)
            if value:
                found[role] = value
            else:
                missing.append(f"{var} ({role})")
        if missing:
            raise ConfigError(
                f"{name}: environment variable {', '.join(missing)} is not set; "
                "maintbot.toml names it as the holder of the credential: export it or "
                "put it in .env"
            )
        return found


@cache
def _scheduler_tables() -> TypeAdapter[dict[str, SchedulerConfig]]:
    """The registered vendors' config models as one discriminated union, built on first
    use: the models live in the connector modules, which ``maintbot --help`` never imports."""
    models = tuple(v.config_class() for v in VENDORS.values())
    # Built at run time from the registry, so no static type can name it.
    union: Any = Annotated[Union[models], Field(discriminator="vendor")]  # noqa: UP007
    adapter: TypeAdapter[dict[str, SchedulerConfig]] = TypeAdapter(dict[str, union])
    return adapter


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err["loc"] if not str(p).startswith("function-after")]
        if len(loc) >= 3 and loc[0] == "schedulers" and loc[2] in VENDORS:
            # pydantic puts the discriminator value in the path; people think in tables.
            table, key = f"[schedulers.{loc[1]}]", ".".join(loc[3:])
        elif len(loc) >= 2:
            table, key = f"[{'.'.join(loc[:-1])}]", loc[-1]
        else:
            table, key = "the top level", ".".join(loc)
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{key}' in {table}")
        elif err["type"] == "union_tag_invalid":
            lines.append(f"{table}: vendor must be one of {', '.join(VENDORS)}")
        elif key:
            lines.append(f"{key} in {table}: {err['msg']}")
        else:
            lines.append(f"{table}: {err['msg']}")
    return "; ".join(lines)


# The documented tables. ``Config`` has more fields (``source``, ``extra_env``) that maintbot
# fills itself; accepting them from the file would let credentials be written inline.
_TOP_LEVEL = ("maintbot", "schedulers")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CREDENTIAL_KEY = re.compile(
    r"(?i)(secret|passw(or)?d|passwd|token|api_?key|access_?key|private_?key|credential)"
)
_INLINE_HINT = (
    "credentials are never written in maintbot.toml: export the value as an environment "
    "variable (or put it in the env_file) and name that variable with a *_env key, e.g. "
    'token_env = "TALEND_TOKEN"'
)


def _refuse_inline_credentials(raw: Mapping[str, Any], file: Path) -> None:
    """Refuse anything in the file that is, or looks like, a credential; never repeat it."""
    for key, value in raw.items():
        if key not in _TOP_LEVEL:
            # extra_env is Config's own field for the env_file's values: the same hint.
            credential = (
                _CREDENTIAL_KEY.search(key)
                or key.endswith("env")
                or any(_looks_secret(v) for _, _, v in _leaves({key: value}, ()))
            )
            hint = f"; {_INLINE_HINT}" if credential else ""
            raise ConfigError(
                f"{file}: unknown top-level key '{key}'; maintbot.toml has a [maintbot] table "
                f"and [schedulers.<name>] tables only{hint}"
            )
    for table, key, value in _leaves(raw, ()):
        where = f"{key} in [{'.'.join(table)}]" if table else f"top-level key '{key}'"
        if key.endswith("_env"):
            if not isinstance(value, str) or _ENV_NAME.fullmatch(value) is None:
                raise ConfigError(
                    f"{file}: {where} must be the name of an environment variable (letters, "
                    "digits and _), not the credential itself; export the credential as, "
                    f'e.g., MY_SECRET and write {key} = "MY_SECRET"'
                )
        elif key.endswith("_url") and isinstance(value, str) and "@" in value:
            continue  # user:password@ in an address: _plain_url says so more precisely
        elif _CREDENTIAL_KEY.search(key) or _looks_secret(value):
            raise ConfigError(f"{file}: {where} looks like a credential; {_INLINE_HINT}")


def _looks_secret(value: object) -> bool:
    return isinstance(value, str) and redact(value) != value


def _leaves(
    node: Mapping[str, Any], table: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    for key, value in node.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, (*table, key))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    yield from _leaves(item, (*table, key))
                else:
                    yield table, key, item
        else:
            yield table, key, value


def load_config(path: str | Path) -> Config:
    """Parse ``maintbot.toml``; every problem is a ConfigError naming the file and key."""
    file = Path(path)
    try:
        raw: dict[str, Any] = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file} is not UTF-8 text; maintbot.toml is a TOML file") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {file} ({exc.strerror or type(exc).__name__}); "
            "name a readable maintbot.toml"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file} is not valid TOML: {exc}") from None
    _refuse_inline_credentials(raw, file)
    try:
        config = Config.model_validate({**raw, "source": str(file)})
    except ValidationError as exc:
        raise ConfigError(f"{file}: {_describe(exc)}") from None
    if config.maintbot.env_file:
        env_path = file.parent / config.maintbot.env_file
        if not env_path.exists():
            raise ConfigError(f"{file}: env_file {env_path} does not exist")
        try:
            values = {k: v for k, v in dotenv_values(env_path).items() if v is not None}
        except (OSError, UnicodeDecodeError):
            raise ConfigError(
                f"{file}: env_file {env_path} cannot be read; name a readable KEY=value file"
            ) from None
        config = config.model_copy(update={"extra_env": values})
    return config


class Settings(BaseSettings):
    """Process settings from the environment and ``.env`` (twelve-factor)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    maintbot_db: str = "./maintbot.db"
    maintbot_config: str = "./maintbot.toml"
    maintbot_tz: str = "UTC"
    maintbot_alert_channel: str | None = None
    maintbot_approval_channel: str | None = None
    maintbot_approvers: str = ""
    maintbot_allow_self_approval: bool = False
    # Resuming a task someone else paused needs an approver (bot/approvals.py Policy).
    maintbot_resume_others_needs_approval: bool = True
    maintbot_log_level: str = "INFO"
    # "json": one JSON object per log line (bot/logs.py), for a log collector.
    maintbot_log_format: Literal["text", "json"] = "text"
    # Who may end (or cancel) a window early, and who may extend it (bot/approvals.py):
    # "requester_or_approver" or "approver". A requester's extensions past the approved end
    # beyond MAINTBOT_EXTEND_LIMIT_MINUTES in total need an approver.
    maintbot_end_by: Literal["requester_or_approver", "approver"] = "requester_or_approver"
    maintbot_extend_by: Literal["requester_or_approver", "approver"] = "requester_or_approver"
    maintbot_extend_limit_minutes: int = Field(default=60, ge=0, le=14 * 24 * 60)
    # How long an open waits for another process's lock on the database before giving up.
    maintbot_db_busy_timeout: float = Field(default=5.0, ge=0, le=600, allow_inf_nan=False)
    # The window clock's lead among replicas (bot/lifecycle/loop.py): renewed on every turn,
    # so a dead leader's standby takes over within this plus one interval.
    maintbot_clock_lease_seconds: float = Field(default=30.0, ge=1, le=3600, allow_inf_nan=False)
    # Where `maintbot serve` is reached from outside (https://maintbot.example.com): the
    # base of the calendar feed's address that `maintbot calendar --url` and Slack give out.
    maintbot_public_url: str | None = None

    @field_validator("maintbot_public_url")
    @classmethod
    def _public_base(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        value = value.strip()
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            host = None
        example = "e.g. https://maintbot.example.com"
        if host is None or parts.scheme not in ("http", "https"):
            raise PydanticCustomError(
                "public_url", f"must be an http:// or https:// address with a host name, {example}"
            )
        if "@" in parts.netloc or parts.query or parts.fragment:
            raise PydanticCustomError(
                "public_url",
                f"must be a plain address (no user name, ? query or # fragment), {example}",
            )
        return value.rstrip("/")


def load_settings() -> Settings:
    """The process settings; a bad environment variable is a ConfigError naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        # Never the value: it may be a token.
        problems = [
            f"{'.'.join(str(p) for p in err['loc']).upper()} ({err['msg']})"
            for err in exc.errors()[:5]
        ]
        raise ConfigError(
            f"environment variable {'; '.join(problems)}; fix it in the environment or .env"
        ) from None
