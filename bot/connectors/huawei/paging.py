"""The HTTP plumbing both families share: sending with the IAM action named on a 403,
strict pages, paging to the stated total, and the newest page of run history."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

import httpx
from pydantic import (
    ValidationError,
)

from bot.clock import Clock
from bot.connectors.base import (
    Connector,
    VendorHttp,
    describe_validation,
    gather_bounded,
)
from bot.connectors.huawei.config import HuaweiConfig
from bot.connectors.huawei.models import (
    AppItem,
    DesktopItem,
    Entry,
    History,
    Listing,
    M,
    page_model,
)
from bot.connectors.shapes import url_id
from bot.errors import AuthError, ConnectorError
from bot.model import TaskKind, TaskRef
from bot.schedule_rules import (
    RuleError,
    parse_vendor_time,
    resolve_zone,
)

__all__ = ["MAX_PAGES", "HuaweiApi"]

MAX_PAGES = 500  # a runaway paging loop stops here rather than never


class HuaweiApi(Connector):
    """A Huawei project's two endpoints and the calls both families make on them."""

    def __init__(self, system: str, http: VendorHttp, clock: Clock, config: HuaweiConfig) -> None:
        super().__init__(system, http, clock)
        self.project_id = config.project_id
        # The project every listing is made in (the path's ``project_id``): one grouping
        # of its tasks, named as the config names it (``project_name``, else the id).
        self.project_label = config.project_name or config.project_id
        app_base = config.app_base_url.rstrip("/")
        self.app_url = f"{app_base}/v1/{config.project_id}/schedule-task"
        self.desktop_url = f"{config.base_url.rstrip('/')}/v2/{config.project_id}/scheduled-tasks"
        self.families = frozenset(config.families)
        self.signs_requests = config.auth_mode == "aksk"
        self.concurrency = config.max_concurrency

    # -- HTTP helpers -----------------------------------------------------------------------
    async def _send(
        self, method: str, url: str, *, action: str, what: str, **kw: Any
    ) -> httpx.Response:
        try:
            return await self.http.send(method, url, what=what, **kw)
        except AuthError as exc:
            if exc.status == 401 and self.signs_requests:
                # The three causes Huawei's guide names for a refused signature.
                raise AuthError(
                    self.system,
                    f"{exc.detail}; check that access_key_env and secret_key_env hold one "
                    "pair (a temporary pair also needs its security_token_env), and that "
                    "this machine's clock is within 15 minutes of the real time. Huawei "
                    "locks an access key for 5 minutes after 5 refusals in a row",
                    status=401,
                ) from None
            if exc.status == 403:
                raise AuthError(
                    self.system,
                    f"{exc.detail}; the IAM user needs the '{action}' permission on project "
                    f"{self.project_id}",
                    status=403,
                ) from None
            raise

    def _object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        data = self.http.json(response, what)
        if not isinstance(data, dict):
            raise self.http.error(f"malformed response from {what}: expected a JSON object")
        return data

    async def _page(
        self,
        url: str,
        listing: Listing[M],
        *,
        offset: int,
        params: Mapping[str, str],
        what: str,
    ) -> tuple[list[tuple[M, dict[str, Any]]], int | None]:
        """One page: each item validated as the listing's model (with the raw item beside
        it, which the desktop update needs whole), and the page's total when it gives one."""
        response = await self._send(
            "GET",
            url,
            params={**params, "offset": offset, "limit": listing.limit},
            action=listing.action,
            what=what,
        )
        data = self._object(response, what)
        items_key, total_key = listing.items_key, listing.total_key
        page = self._validate(page_model(items_key, total_key, listing.model), data, what)
        items: list[M] = getattr(page, items_key)
        return list(zip(items, data[items_key], strict=True)), getattr(page, total_key)

    async def _all_pages(
        self,
        url: str,
        listing: Listing[M],
        *,
        what: str,
        params: Mapping[str, str] | None = None,
    ) -> list[tuple[M, dict[str, Any]]]:
        query = params or {}
        found, total = await self._page(url, listing, offset=0, params=query, what=what)
        stride = offset = len(found)
        if total is not None and 0 < stride < total:
            # The first page gives the count and the page size the server really uses
            # (it may cap below our limit): the other pages go out at once. A page that
            # comes back short means the list moved under us; what follows it is read
            # one page after another from there, as without a count.
            offsets = range(stride, total, stride)
            if len(offsets) >= MAX_PAGES:
                raise self._endless(what)
            pages = await gather_bounded(
                self.concurrency,
                (self._page(url, listing, offset=o, params=query, what=what) for o in offsets),
            )
            for page_offset, (items, _) in zip(offsets, pages, strict=True):
                found.extend(items)
                offset = page_offset + len(items)
                if len(items) < min(stride, total - page_offset):
                    break
            else:
                return found
        elif total is None and len(found) < listing.limit:
            return found
        return await self._pages_from(
            url, listing, query, what, found=found, offset=offset, total=total
        )

    async def _pages_from(
        self,
        url: str,
        listing: Listing[M],
        params: Mapping[str, str],
        what: str,
        *,
        found: list[tuple[M, dict[str, Any]]],
        offset: int,
        total: int | None,
    ) -> list[tuple[M, dict[str, Any]]]:
        """The rest of a listing from ``offset``, one page after another."""
        if total is not None and offset >= total:
            return found
        if total is not None and not found:
            raise self._count_error(what, listing.total_key, total, 0)
        for _ in range(MAX_PAGES):
            items, total = await self._page(url, listing, offset=offset, params=params, what=what)
            found.extend(items)
            offset += len(items)
            # The total decides when it is there (a server may cap pages below our limit);
            # without one, a short page is the last.
            if total is not None and offset >= total:
                return found
            if not items:
                if total is not None:
                    # The pages ended before the count they state: the rest are missing,
                    # and reading what arrived as everything would hide tasks.
                    raise self._count_error(what, listing.total_key, total, offset)
                return found
            if total is None and len(items) < listing.limit:
                return found
        raise self._endless(what)

    def _endless(self, what: str) -> ConnectorError:
        return self.http.error(
            f"{what} did not end after {MAX_PAGES} pages; narrow the scope in maintbot.toml, "
            "or report it to Huawei if the list is not that long"
        )

    def _count_error(self, what: str, total_key: str, total: int, got: int) -> ConnectorError:
        return self.http.error(
            f"malformed response from {what}: {total_key} says {total:,} but the pages hold "
            f"{got:,}; try again, and report it to Huawei if it persists"
        )

    async def _newest_runs(
        self, url: str, listing: Listing[M], *, when: Callable[[M], datetime | None], what: str
    ) -> list[M]:
        """The page of run history that holds the newest runs, whatever the order."""
        pairs, total = await self._page(url, listing, offset=0, params={}, what=what)
        items = [item for item, _ in pairs]
        if total and not items:
            raise self._count_error(what, listing.total_key, total, 0)
        if total is not None and total > len(items) >= 2:
            first, last = when(items[0]), when(items[-1])
            if first is not None and last is not None and first < last:
                tail, _ = await self._page(
                    url, listing, offset=max(0, total - listing.limit), params={}, what=what
                )
                items = items + [item for item, _ in tail]
        return items

    # -- run history, either family ---------------------------------------------------------
    async def _recent_history(self, base_url: str, ref: TaskRef, history: History[M]) -> list[M]:
        """The page(s) of ``ref``'s run history holding its newest runs; none when the task
        is gone (404)."""

        def when(item: M) -> datetime | None:
            try:
                return parse_vendor_time(history.started(item), UTC)
            except RuleError:
                return None

        url = f"{base_url}/{url_id(self.system, ref.kind.value, ref.id)}/{history.path}"
        try:
            return await self._newest_runs(url, history.listing, when=when, what=history.what)
        except ConnectorError as exc:
            if exc.status == 404:
                return []
            raise

    async def _whole_history(
        self, base_url: str, ref: TaskRef, history: History[M]
    ) -> tuple[list[M], str]:
        """Every page of ``ref``'s run history, and what the read is called in errors."""
        task_id = url_id(self.system, ref.kind.value, ref.id)
        what = f"{ref.kind.value} run history"
        pairs = await self._all_pages(
            f"{base_url}/{task_id}/{history.path}", history.listing, what=what
        )
        return [item for item, _ in pairs], what

    def _entry(
        self,
        kind: TaskKind,
        parsed: AppItem | DesktopItem,
        enabled: bool | None,
        raw: dict[str, Any],
    ) -> Entry:
        """A list item of either family, normalised."""
        return Entry(
            ref=self.ref(kind, parsed.id),
            name=parsed.task_name or parsed.id,
            enabled=enabled,
            last_status=parsed.last_status,
            next_execution=parsed.next_execution_time,
            zone_name=parsed.time_zone,
            scheduled_type=parsed.scheduled_type,
            raw=raw,
            task_type=parsed.task_type,
        )

    def _validate(self, model: type[M], item: Mapping[str, Any], what: str) -> M:
        try:
            return model.model_validate(item)
        except ValidationError as exc:
            raise self.http.error(
                f"malformed response from {what}: {describe_validation(exc)}"
            ) from None

    def _time(self, value: object, zone: tzinfo, what: str) -> datetime | None:
        try:
            return parse_vendor_time(value, zone)
        except RuleError as exc:
            raise self.http.error(f"malformed time in {what}: {exc}") from None

    def _zone(self, name: str | None) -> tzinfo | None:
        try:
            return resolve_zone(name)
        except RuleError:
            return None
