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

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

__all__ = [
    "BmcConfig",
    "Config",
    "HuaweiConfig",
    "PyramidConfig",
    "SchedulerConfig",
    "Settings",
    "TalendConfig",
    "load_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SchedulerBase(_Strict):
    base_url: str
    deadline_seconds: float | None = Field(default=None, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0)
    rate_per_minute: float | None = Field(default=None, gt=0)
    max_concurrency: int = Field(default=10, ge=1, le=100)
    # Runs that start up to this long before the window are checked for overlap by duration.
    lookback_hours: float = Field(default=12.0, ge=0, le=72)

    def credential_envs(self) -> dict[str, str]:
        """Credential role → name of the environment variable holding it."""
        return {
            name.removesuffix("_env"): value
            for name, value in self.model_dump().items()
            if name.endswith("_env") and value
        }


class TalendConfig(_SchedulerBase):
    """Talend Management Console. Either ``token_env`` (personal access token) or
    ``client_id_env`` + ``client_secret_env`` (service account) must be given."""

    vendor: Literal["talend"]
    rate_per_minute: float | None = Field(default=1800.0, gt=0)  # Talend's published limit
    environment_id: str | None = None
    workspace_ids: tuple[str, ...] = ()
    token_env: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    audience: str | None = None

    @model_validator(mode="after")
    def _one_auth(self) -> TalendConfig:
        service = bool(self.client_id_env or self.client_secret_env)
        if service and not (self.client_id_env and self.client_secret_env):
            raise ValueError("a service account needs both client_id_env and client_secret_env")
        if service == bool(self.token_env):
            raise ValueError(
                "give either token_env (personal access token) or client_id_env and "
                "client_secret_env (service account)"
            )
        return self


class PyramidConfig(_SchedulerBase):
    vendor: Literal["pyramid"]
    username_env: str
    password_env: str
    domain: str | None = None
    search_value: str = ""


class BmcConfig(_SchedulerBase):
    vendor: Literal["bmc"]
    ims_url: str | None = None  # Helix Portal for the access-key login; default base_url
    access_key_env: str
    access_secret_key_env: str
    tenant_id: str | None = None


class HuaweiConfig(_SchedulerBase):
    """Huawei Cloud Workspace. ``base_url`` is the desktop (v2) endpoint; the Application
    Streaming (v1) family lives at ``appstream_url`` and IAM at ``iam_url``."""

    vendor: Literal["huawei"]
    iam_url: str
    appstream_url: str | None = None
    project_id: str
    project_name: str | None = None
    domain_name: str
    username_env: str
    password_env: str
    families: tuple[Literal["app", "desktop"], ...] = ("app", "desktop")


SchedulerConfig = Annotated[
    TalendConfig | PyramidConfig | BmcConfig | HuaweiConfig, Field(discriminator="vendor")
]


class GeneralConfig(_Strict):
    deadline_seconds: float = Field(default=10.0, gt=0)
    env_file: str | None = None


class Config(_Strict):
    """The parsed ``maintbot.toml``."""

    maintbot: GeneralConfig = GeneralConfig()
    schedulers: dict[str, SchedulerConfig] = Field(default_factory=dict)
    source: str | None = None
    extra_env: dict[str, str] = Field(default_factory=dict)

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


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err["loc"] if not str(p).startswith("function-after")]
        if len(loc) >= 3 and loc[0] == "schedulers" and loc[2] in _VENDORS:
            # pydantic puts the discriminator value in the path; people think in tables.
            table, key = f"[schedulers.{loc[1]}]", ".".join(loc[3:])
        elif len(loc) >= 2:
            table, key = f"[{'.'.join(loc[:-1])}]", loc[-1]
        else:
            table, key = "the top level", ".".join(loc)
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{key}' in {table}")
        elif err["type"] == "union_tag_invalid":
            lines.append(f"{table}: vendor must be one of {', '.join(_VENDORS)}")
        elif key:
            lines.append(f"{key} in {table}: {err['msg']}")
        else:
            lines.append(f"{table}: {err['msg']}")
    return "; ".join(lines)


_VENDORS = ("talend", "pyramid", "bmc", "huawei")


def load_config(path: str | Path) -> Config:
    """Parse ``maintbot.toml``; every problem is a ConfigError naming the file and key."""
    file = Path(path)
    try:
        raw: dict[str, Any] = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file} is not valid TOML: {exc}") from None
    try:
        config = Config.model_validate({**raw, "source": str(file)})
    except ValidationError as exc:
        raise ConfigError(f"{file}: {_describe(exc)}") from None
    if config.maintbot.env_file:
        env_path = file.parent / config.maintbot.env_file
        if not env_path.exists():
            raise ConfigError(f"{file}: env_file {env_path} does not exist")
        values = {k: v for k, v in dotenv_values(env_path).items() if v is not None}
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
    maintbot_log_level: str = "INFO"
