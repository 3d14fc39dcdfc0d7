"""The ``[schedulers.<name>]`` table of a Huawei Cloud Workspace project.

Two ways in, one per table:

* ``auth = "aksk"`` (recommended): an access key and secret key sign every request, plus a
  security token for temporary credentials (federated and SSO users, agencies). Works for
  accounts with only access keys and for users whose console sign-in needs MFA.
* ``auth = "password"``: an IAM user's name and password buy a 24-hour token.

``auth`` may be left out: the keys given decide, and a table from before AK/SK existed
(user name and password keys only) keeps signing in with its password.
"""

from __future__ import annotations

import re
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator
from pydantic_core import PydanticCustomError

from bot.config import SchedulerConfig

__all__ = ["HuaweiConfig", "default_appstream_url", "region_of"]

AuthMode = Literal["aksk", "password"]

_AKSK_KEYS = ("access_key_env", "secret_key_env", "security_token_env")
_PASSWORD_KEYS = ("iam_url", "domain_name", "username_env", "password_env")
_REGION = re.compile(r"[a-z]{2,}(?:-[a-z0-9]+)*-\d{1,2}")
# workspace.<region>.myhuaweicloud.com (and .com.cn / huaweicloud.com variants).
_WORKSPACE_HOST = re.compile(r"workspace\.(?P<region>[a-z0-9-]+)\.(?:my)?huaweicloud\.(?:com|cn)")
_AKSK_EXAMPLE = (
    'e.g. auth = "aksk", access_key_env = "HUAWEI_ACCESS_KEY", secret_key_env = "HUAWEI_SECRET_KEY"'
)
_PASSWORD_EXAMPLE = (
    'e.g. auth = "password", iam_url = "https://iam.ap-southeast-1.myhuaweicloud.com", '
    'domain_name = "my-account", username_env = "HUAWEI_USER", '
    'password_env = "HUAWEI_PASSWORD"'
)


def region_of(base_url: str) -> str | None:
    """The region in a Workspace endpoint's host name, if it is Huawei's own."""
    host = urlsplit(base_url).hostname or ""
    found = _WORKSPACE_HOST.fullmatch(host)
    return found["region"] if found else None


def default_appstream_url(region: str | None, base_url: str) -> str:
    """Where the Application Streaming (v1) API is when the table does not say.

    China regions serve it on its own host, ``appstream.<region>.myhuaweicloud.com`` (the
    SDK's region list); international ones on the Workspace host (shared/contracts.md §4.1
    has no international App Streaming host; the Workspace endpoint is the reading issue 13
    gives), which is ``base_url``."""
    if region is not None and region.startswith("cn-"):
        return f"https://appstream.{region}.myhuaweicloud.com"
    return base_url


class HuaweiConfig(SchedulerConfig):
    """Huawei Cloud Workspace. ``base_url`` is the desktop (v2) endpoint; the Application
    Streaming (v1) family lives at ``appstream_url`` (by default from the region)."""

    vendor: Literal["huawei"]
    auth: AuthMode | None = None
    region: str | None = None
    appstream_url: str | None = None
    project_id: str
    project_name: str | None = None
    # auth = "aksk": names of the environment variables holding the credentials.
    access_key_env: str | None = None
    secret_key_env: str | None = None
    security_token_env: str | None = None
    # auth = "password"
    iam_url: str | None = None
    domain_name: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    families: tuple[Literal["app", "desktop"], ...] = ("app", "desktop")

    @field_validator("region")
    @classmethod
    def _region_shape(cls, value: str | None) -> str | None:
        if value is not None and _REGION.fullmatch(value) is None:
            raise PydanticCustomError(
                "huawei_region",
                "must be a Huawei region id such as ap-southeast-1 or cn-north-4 (the "
                "region part of the Workspace endpoint's host name)",
            )
        return value

    @model_validator(mode="after")
    def _one_way_in(self) -> Self:
        aksk = [k for k in _AKSK_KEYS if getattr(self, k) is not None]
        password = [k for k in _PASSWORD_KEYS if getattr(self, k) is not None]
        mode = self.auth_mode
        if self.auth is None and aksk and password:
            raise PydanticCustomError(
                "huawei_auth_mixed",
                f"gives both AK/SK keys ({', '.join(aksk)}) and password keys "
                f"({', '.join(password)}); a table signs in one way: keep the AK/SK keys "
                f"(recommended) and remove the others, {_AKSK_EXAMPLE}",
            )
        if mode == "aksk":
            if password:
                raise PydanticCustomError(
                    "huawei_auth_mixed",
                    f'auth = "aksk" signs every request with an access key, so '
                    f"{', '.join(password)} (password sign-in only) must go, {_AKSK_EXAMPLE}",
                )
            missing = [k for k in ("access_key_env", "secret_key_env") if k not in aksk]
            if missing:
                given = [k for k in ("access_key_env", "secret_key_env") if k in aksk]
                half = (
                    f"{given[0]} is given without {missing[0]}"
                    if given
                    else ("access_key_env and secret_key_env are missing")
                )
                raise PydanticCustomError(
                    "huawei_aksk_incomplete",
                    f"{half}: an access key is a pair (access key id and secret access key, "
                    f"as in the credentials.csv Huawei's console downloads), {_AKSK_EXAMPLE}",
                )
            return self
        if aksk:
            raise PydanticCustomError(
                "huawei_auth_mixed",
                f'auth = "password" signs in with an IAM user name and password, so '
                f'{", ".join(aksk)} must go, or set auth = "aksk" (recommended) and '
                f"remove the password keys, {_PASSWORD_EXAMPLE}",
            )
        missing = [k for k in _PASSWORD_KEYS if k not in password]
        if missing:
            raise PydanticCustomError(
                "huawei_password_incomplete",
                f"password sign-in needs {', '.join(missing)} too, {_PASSWORD_EXAMPLE}; or "
                f"sign requests with an access key instead (recommended), {_AKSK_EXAMPLE}",
            )
        return self

    @property
    def auth_mode(self) -> AuthMode:
        if self.auth is not None:
            return self.auth
        given = any(getattr(self, k) is not None for k in _AKSK_KEYS)
        return "aksk" if given else "password"

    @property
    def resolved_region(self) -> str | None:
        return self.region or region_of(self.base_url)

    @property
    def app_base_url(self) -> str:
        return self.appstream_url or default_appstream_url(self.resolved_region, self.base_url)
