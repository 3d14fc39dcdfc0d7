"""The two ways both API families authenticate: an AK/SK signature on every request
(recommended) or an IAM password token."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from bot.clock import Clock, system_clock
from bot.connectors.base import (
    Authenticator,
    CachedTokenAuth,
    VendorHttp,
)
from bot.connectors.huawei.signing import AkSkSigner
from bot.errors import AuthError
from bot.schedule_rules import (
    parse_vendor_time,
)

__all__ = ["TOKEN_LIFETIME", "HuaweiAkSkAuth", "HuaweiIamAuth"]

TOKEN_LIFETIME = timedelta(hours=24)


class HuaweiIamAuth(CachedTokenAuth):
    """An IAM project-scoped token from the password identity [SEEN H10]."""

    def __init__(
        self,
        clock: Clock,
        *,
        iam_url: str,
        username: str,
        password: str,
        domain_name: str,
        project_id: str,
    ) -> None:
        super().__init__(clock, [password])
        base = iam_url.rstrip("/")
        self.url = (base.removesuffix("/v3")) + "/v3/auth/tokens"
        self._username = username
        self._password = password
        self._domain = domain_name
        self._project_id = project_id

    def body(self) -> dict[str, Any]:
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self._username,
                            "password": self._password,
                            "domain": {"name": self._domain},
                        }
                    },
                },
                # Scoped by id: unambiguous, and always configured (names are optional).
                "scope": {"project": {"id": self._project_id}},
            }
        }

    async def login(self, http: VendorHttp) -> tuple[str, timedelta]:
        response = await http.send(
            "POST",
            self.url,
            json_body=self.body(),
            authenticated=False,
            what="IAM token (POST /v3/auth/tokens)",
            ok=(200, 201),
        )
        token = response.headers.get("X-Subject-Token")
        if not token:
            raise AuthError(
                http.system,
                "IAM answered without an X-Subject-Token header; check that iam_url points at "
                "the IAM endpoint (https://iam.<region>.myhuaweicloud.com)",
            )
        return token, self._lifetime(response)

    def _lifetime(self, response: httpx.Response) -> timedelta:
        """Until the body's ``expires_at``, clamped to (1 min, 24 h]; 24 h if absent."""
        try:
            expires_at = response.json()["token"]["expires_at"]
            expires = parse_vendor_time(expires_at, UTC)
        except (ValueError, KeyError, TypeError):
            return TOKEN_LIFETIME
        if expires is None:
            return TOKEN_LIFETIME
        left = expires - self._clock()
        return max(timedelta(minutes=1), min(TOKEN_LIFETIME, left))

    def header(self, token: str) -> dict[str, str]:
        return {"X-Auth-Token": token}


class HuaweiAkSkAuth(Authenticator):
    """An access key and secret key signing every request ("SDK-HMAC-SHA256"), with the
    security token of temporary credentials. Nothing is fetched and nothing expires on the
    bot's side (temporary credentials expire at Huawei, which then answers 401)."""

    renewable = False

    def __init__(
        self,
        clock: Clock = system_clock,
        *,
        access_key: str,
        secret_key: str,
        project_id: str,
        security_token: str | None = None,
    ) -> None:
        self.signer = AkSkSigner(
            access_key=access_key,
            secret_key=SecretStr(secret_key),
            security_token=SecretStr(security_token) if security_token else None,
            project_id=project_id,
            clock=clock,
        )
        # The access key is an identifier rather than a secret, but Huawei masks it in its
        # own messages, and so does maintbot.
        self.secrets = tuple(s for s in (secret_key, security_token, access_key) if s)

    async def headers(self, http: VendorHttp) -> dict[str, str]:
        return {}  # the signer adds its headers as each request is sent
