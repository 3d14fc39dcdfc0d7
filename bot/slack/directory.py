"""Who people are, as far as the bot needs: each user's time zone, and who may approve.

Both come from the Slack Web API and change rarely, so both are cached with a TTL; a
failed lookup falls back (to the default zone; to the last known approvers) instead of
failing the user's request. Concurrent lookups of one key share one call, so fifty
commands from one person cost one ``users.info``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals import ApproverSpec
from bot.errors import WindowError
from bot.slack.errors import SLACK_ERRORS
from bot.windows import resolve_zone

__all__ = ["TtlCache", "UserDirectory"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class TtlCache(Generic[T]):
    """A small async cache: one in-flight load per key, values kept for ``ttl`` seconds."""

    def __init__(self, ttl: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._monotonic = monotonic
        self._values: dict[str, tuple[float, T]] = {}
        self._loading: dict[str, asyncio.Future[T]] = {}

    def peek(self, key: str) -> T | None:
        hit = self._values.get(key)
        return hit[1] if hit is not None else None

    async def get(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        hit = self._values.get(key)
        if hit is not None and self._monotonic() - hit[0] < self.ttl:
            return hit[1]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            # Nobody else may be waiting; retrieve it so asyncio does not warn.
            future.exception()
            raise
        finally:
            self._loading.pop(key, None)
        self._values[key] = (self._monotonic(), value)
        future.set_result(value)
        return value


def _valid_zone(name: Any) -> str | None:
    """A Slack profile's zone if the window grammar can read windows in it (the one zone
    resolver, :func:`bot.windows.resolve_zone`), else ``None``."""
    if not isinstance(name, str) or not name:
        return None
    try:
        resolve_zone(name)
    except WindowError:
        return None
    return name


class UserDirectory:
    """Time zones and locales (``users.info``) and approvers (``usergroups.*``), cached."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        default_tz: str,
        approvers: ApproverSpec,
        tz_ttl: float = 3600.0,
        group_ttl: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.default_tz = default_tz
        self.spec = approvers
        self._profile: TtlCache[tuple[str, str | None]] = TtlCache(tz_ttl, monotonic)
        self._groups: TtlCache[frozenset[str]] = TtlCache(group_ttl, monotonic)

    async def tz(self, user_id: str) -> str:
        """The user's IANA zone from their Slack profile, else the configured default.

        A failed lookup is not cached, so a Slack hiccup costs one request its zone, not an
        hour of them."""
        return (await self._user(user_id))[0]

    async def zone_and_locale(self, user_id: str) -> tuple[str, str | None]:
        """:meth:`tz` and :meth:`locale` from one ``users.info`` call (a failed one gives the
        default zone and no locale, once, rather than a different answer to each)."""
        return await self._user(user_id)

    async def locale(self, user_id: str) -> str | None:
        """The user's Slack locale (``fr-FR``, ``ja-JP``), which says the language their
        window texts are tried in first and the echo's; None when Slack gives none. The
        same ``users.info`` call as the zone, so asking costs no request."""
        return (await self._user(user_id))[1]

    async def _user(self, user_id: str) -> tuple[str, str | None]:
        try:
            return await self._profile.get(user_id, lambda: self._load_user(user_id))
        except SLACK_ERRORS as exc:
            log.warning("users.info for %s failed (%s); using %s", user_id, exc, self.default_tz)
            return self.default_tz, None

    async def _load_user(self, user_id: str) -> tuple[str, str | None]:
        response = await self.client.users_info(user=user_id, include_locale=True)
        user = response.get("user") or {}
        locale = user.get("locale")
        zone = _valid_zone(user.get("tz"))
        if zone is None:
            log.info("user %s has no usable tz in Slack; using %s", user_id, self.default_tz)
            zone = self.default_tz
        return zone, locale if isinstance(locale, str) and locale else None

    async def approvers(self) -> frozenset[str]:
        """User ids allowed to approve: the listed users plus the members of listed groups.

        A failed group lookup keeps the last known members (and logs); with none known, only
        the listed users count, which refuses rather than lets through."""
        if not self.spec.has_groups:
            return self.spec.users
        try:
            members = await self._groups.get("members", self._load_group_members)
        except SLACK_ERRORS as exc:
            stale = self._groups.peek("members")
            log.warning("resolving approver groups failed (%s); using the last known members", exc)
            members = stale if stale is not None else frozenset()
        return self.spec.users | members

    async def approver_mentions(self) -> str:
        """The approvers as Slack mentions (users ``<@U…>``, groups ``<!subteam^S…>``), to
        ping them in a request; ``""`` when none is configured. A group whose handle cannot
        be resolved right now is left out (and logged): the request is still posted."""
        group_ids: set[str] = set(self.spec.group_ids)
        if self.spec.handles:
            try:
                group_ids |= await self._groups.get("ids", self._load_group_ids)
            except SLACK_ERRORS as exc:
                log.warning("usergroups.list failed (%s); not mentioning approver groups", exc)
        mentions = [f"<@{u}>" for u in sorted(self.spec.users)]
        mentions += [f"<!subteam^{g}>" for g in sorted(group_ids)]
        return " ".join(mentions)

    async def _load_group_ids(self) -> frozenset[str]:
        listing = await self.client.usergroups_list()
        groups = listing.get("usergroups") or []
        found = {str(g.get("handle", "")).lower() for g in groups}
        for missing in sorted(self.spec.handles - found):
            log.warning("MAINTBOT_APPROVERS: no user group with handle @%s", missing)
        return frozenset(
            str(g["id"])
            for g in groups
            if str(g.get("handle", "")).lower() in self.spec.handles and g.get("id")
        )

    async def _load_group_members(self) -> frozenset[str]:
        group_ids = set(self.spec.group_ids)
        if self.spec.handles:
            group_ids |= await self._groups.get("ids", self._load_group_ids)
        members: set[str] = set()
        for group_id in sorted(group_ids):
            response = await self.client.usergroups_users_list(usergroup=group_id)
            members.update(str(u) for u in response.get("users") or [])
        return frozenset(members)
