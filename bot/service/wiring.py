"""Which schedulers the bot talks to: the configured ones, or the built-in simulators.

This is the one place that chooses. The simulators run only when asked (``sandbox=True``,
the ``--sandbox`` flag), or for a ``check`` when nothing at all is configured: a check
changes nothing, so a demo is safe; serving, the clock and planning never fall back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from bot.config import Config, Settings, load_config
from bot.errors import ConfigError

__all__ = ["NOTHING_CONFIGURED", "Need", "configured", "scheduler_config"]

# What a use case needs of the schedulers:
#   "store"      none at all (audit, windows, cancel, …);
#   "optional"   the configured ones if there are any (approve: a resume request calls one);
#   "configured" configured ones, or an error (serve, worker, plan, pause, resume);
#   "demo"       configured ones, or the simulators when nothing is configured (check).
Need = Literal["store", "optional", "configured", "demo"]

NOTHING_CONFIGURED = (
    "no scheduler is configured: there is no ./maintbot.toml and neither MAINTBOT_CONFIG "
    "nor --config names one. Create a maintbot.toml like the README's (Configuration), or "
    "for a demo run `maintbot sandbox --write-config maintbot.toml` (or add --sandbox to "
    "use the built-in simulators)"
)


def configured(settings: Settings, config_file: str | None = None) -> Config | None:
    """The configured schedulers, or ``None`` when nothing is configured: no
    ``config_file``, no ``MAINTBOT_CONFIG``, no ``./maintbot.toml``. A file that is
    *named* must exist."""
    if config_file is not None:
        path, named_by = Path(config_file), "--config names it"
    else:
        path = Path(settings.maintbot_config)
        # Set in the environment or .env (the Dockerfile sets it): a forgotten volume must
        # be an error, never a quiet fall-back to simulated schedulers.
        if "maintbot_config" in settings.model_fields_set:
            named_by = "MAINTBOT_CONFIG names it"
        elif not path.exists():
            return None
        else:
            named_by = "the default"
    if not path.exists():
        raise ConfigError(
            f"config file {path} does not exist ({named_by}); create it (a maintbot.toml "
            "like the README's) or name the right file"
        )
    config = load_config(path)
    if not config.schedulers:
        raise ConfigError(f"{path} configures no [schedulers.<name>] table")
    return config


@contextmanager
def scheduler_config(
    settings: Settings,
    *,
    need: Need,
    config_file: str | None = None,
    sandbox: bool = False,
    doing: str = "using",
    announce: Callable[[str], None] | None = None,
) -> Iterator[Config | None]:
    """The config to open schedulers from, for the block; ``None`` when ``need`` allows
    none. When the simulators run, ``announce`` is told so (with ``doing``: "checking",
    "serving against", …), since a demo must never pass for the real thing."""
    if need == "store":
        yield None
        return
    if sandbox:
        reason = "--sandbox"
    else:
        config = configured(settings, config_file)
        if config is not None or need == "optional":
            yield config
            return
        if need != "demo":
            raise ConfigError(NOTHING_CONFIGURED)
        reason = "No maintbot.toml found"
    # Imported here: the simulators (and aiohttp under them) cost every other verb time.
    from bot.sandbox import SandboxServer, make_simulators, sandbox_config

    server = SandboxServer(make_simulators(scale=1))
    server.start()
    try:
        if announce is not None:
            where = ", ".join(f"{s.vendor} {s.base_url}" for s in server.simulators)
            announce(f"{reason}: {doing} the built-in sandbox ({where}).")
        yield sandbox_config(server.simulators)
    finally:
        server.stop()
