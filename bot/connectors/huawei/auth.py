"""IAM password-token sign-in, shared by both API families."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import httpx

from bot.clock import Clock
from bot.connectors.base import (
    CachedTokenAuth,
    VendorHttp,
)
from bot.errors import AuthError
from bot.schedule_rules import (
    parse_vendor_time,
)

__all__ = ["TOKEN_LIFETIME", "HuaweiIamAuth"]

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
