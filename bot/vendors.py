"""The registry of scheduler vendors: the one place that names them.

Config (the ``vendor = "..."`` table), the check (labels), the sandbox (which simulators run)
and the tests read :data:`VENDORS`; adding a vendor is its connector module, its simulator
and one :class:`Vendor` line here.

The descriptors name their code by import path, resolved on first use: ``maintbot --help``
and the window grammar must not pay for the HTTP stack or the simulators' aiohttp.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import SchedulerConfig
    from bot.connectors.base import Connector, FromConfig
    from bot.sandbox.base import Simulator

__all__ = ["VENDORS", "Vendor", "vendor"]


def _resolve(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class Vendor:
    """One scheduler vendor. ``connector`` is a module exposing ``from_config`` (the
    signature :class:`~bot.connectors.base.FromConfig`); the other targets are
    ``"module:attribute"``."""

    name: str
    label: str
    connector: str
    config_model: str
    simulator: str
    # The TaskKind values its tasks carry (which API pauses them).
    task_kinds: tuple[str, ...]

    def config_class(self) -> type[SchedulerConfig]:
        model: type[SchedulerConfig] = _resolve(self.config_model)
        return model

    def from_config(self) -> FromConfig[Connector]:
        """The connector module's ``from_config``."""
        factory: FromConfig[Connector] = _resolve(f"{self.connector}:from_config")
        return factory

    def simulator_class(self) -> type[Simulator]:
        cls: type[Simulator] = _resolve(self.simulator)
        return cls


# The order is the order of the sandbox's ports and of the report.
VENDORS: Mapping[str, Vendor] = {
    v.name: v
    for v in (
        Vendor(
            "talend",
            "Talend Management Console",
            "bot.connectors.talend",
            "bot.connectors.talend:TalendConfig",
            "bot.sandbox.talend:TalendSimulator",
            ("task", "plan"),
        ),
        Vendor(
            "pyramid",
            "Pyramid Analytics",
            "bot.connectors.pyramid",
            "bot.connectors.pyramid:PyramidConfig",
            "bot.sandbox.pyramid:PyramidSimulator",
            ("schedule",),
        ),
        Vendor(
            "bmc",
            "BMC Helix Continuous Optimization",
            "bot.connectors.bmc",
            "bot.connectors.bmc:BmcConfig",
            "bot.sandbox.bmc:BmcSimulator",
            ("etl",),
        ),
        Vendor(
            "huawei",
            "Huawei Cloud Workspace",
            "bot.connectors.huawei",
            "bot.connectors.huawei.config:HuaweiConfig",
            "bot.sandbox.huawei:HuaweiSimulator",
            ("app_task", "desktop_task"),
        ),
    )
}


def vendor(name: str) -> Vendor:
    """The descriptor for ``name``; a KeyError names the registered ones."""
    try:
        return VENDORS[name]
    except KeyError:
        raise KeyError(f"unknown vendor {name!r}; registered: {', '.join(VENDORS)}") from None
