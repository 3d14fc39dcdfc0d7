"""Connectors: one module per scheduler vendor behind :class:`~bot.connectors.base.Connector`.

Each vendor module exposes ``from_config(name, config, credentials, *, clock, transport)``;
:func:`build_connector` picks the module by the config's ``vendor``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import httpx

from bot.clock import Clock
from bot.config import SchedulerConfig
from bot.connectors.base import Connector

__all__ = ["VENDORS", "Connector", "build_connector"]

VENDORS: dict[str, str] = {
    "talend": "bot.connectors.talend",
    "pyramid": "bot.connectors.pyramid",
    "bmc": "bot.connectors.bmc",
    "huawei": "bot.connectors.huawei",
}


def build_connector(
    name: str,
    config: SchedulerConfig,
    credentials: Mapping[str, str],
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Connector:
    module = importlib.import_module(VENDORS[config.vendor])
    connector: Connector = module.from_config(
        name, config, dict(credentials), clock=clock, transport=transport
    )
    return connector
