"""Loopback simulators of the registered vendors' APIs (:mod:`bot.vendors`), used by the
tests, the benchmarks and the out-of-the-box demo (``maintbot check`` with nothing
configured, ``maintbot sandbox``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.clock import Clock, system_clock
from bot.config import Config
from bot.sandbox.base import SandboxServer, Simulator
from bot.vendors import VENDORS

__all__ = ["SIMULATORS", "SandboxServer", "Simulator", "make_simulators", "sandbox_config"]

# vendor → "module:Class", from the registry; the order is the order of the ports and of
# the report.
SIMULATORS: dict[str, str] = {v.name: v.simulator for v in VENDORS.values()}


def make_simulators(
    *, clock: Clock = system_clock, scale: int = 1, vendors: Sequence[str] | None = None
) -> list[Simulator]:
    return [
        v.simulator_class()(clock=clock, scale=scale)
        for v in VENDORS.values()
        if vendors is None or v.name in vendors
    ]


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
