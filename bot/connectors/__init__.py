"""Connectors: one module per scheduler vendor behind :class:`~bot.connectors.base.Connector`.

Each vendor module exposes ``from_config`` (:class:`~bot.connectors.base.FromConfig`);
:func:`build_connector` picks the module by the config's ``vendor`` from the registry
(:mod:`bot.vendors`).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from bot.clock import Clock
from bot.config import SchedulerConfig
from bot.connectors.base import Connector
from bot.vendors import vendor

__all__ = ["Connector", "build_connector"]


def build_connector(
    name: str,
    config: SchedulerConfig,
    credentials: Mapping[str, str],
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Connector:
    return vendor(config.vendor).from_config()(
        name, config, dict(credentials), clock=clock, transport=transport
    )
