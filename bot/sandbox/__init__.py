"""Loopback simulators of the four vendor APIs, used by the tests, the benchmarks and the
out-of-the-box demo (``maintbot check`` with nothing configured, ``maintbot sandbox``)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from bot.clock import Clock, system_clock
from bot.config import Config
from bot.sandbox.base import SandboxServer, Simulator

__all__ = ["SIMULATORS", "SandboxServer", "Simulator", "make_simulators", "sandbox_config"]

# vendor → "module:Class"; the order is the order of the ports and of the report.
SIMULATORS: dict[str, str] = {
    "talend": "bot.sandbox.talend:TalendSimulator",
    "pyramid": "bot.sandbox.pyramid:PyramidSimulator",
    "bmc": "bot.sandbox.bmc:BmcSimulator",
    "huawei": "bot.sandbox.huawei:HuaweiSimulator",
}


def make_simulators(
    *, clock: Clock = system_clock, scale: int = 1, vendors: Sequence[str] | None = None
) -> list[Simulator]:
    sims = []
    for vendor, target in SIMULATORS.items():
        if vendors is not None and vendor not in vendors:
            continue
        module_name, class_name = target.split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        sims.append(cls(clock=clock, scale=scale))
    return sims


def sandbox_config(simulators: Sequence[Simulator], deadline_seconds: float = 10.0) -> Config:
    """A config pointing at running simulators, with their demo credentials in ``extra_env``
    (so nothing has to be exported to try the sandbox)."""
    schedulers = {}
    env: dict[str, str] = {}
    for sim in simulators:
        schedulers[sim.vendor] = sim.config_entry()
        env.update(sim.credentials())
    return Config.model_validate(
        {
            "maintbot": {"deadline_seconds": deadline_seconds},
            "schedulers": schedulers,
            "extra_env": env,
            "source": "built-in sandbox",
        }
    )
