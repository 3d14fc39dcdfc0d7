"""Defaults and bounds the command line shows in its help.

They live apart from the modules that use them so that ``maintbot --help`` can print them
without importing the domain (pydantic, the store, the HTTP stack): the help is read far
more often than a verb is run on a slow machine.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_TOP", "MAX_TOP"]

DEFAULT_TOP: Final = 3
"""How many slots ``suggest`` shows unless asked."""

MAX_TOP: Final = 10
"""The most slots ``suggest`` ranks in one answer."""
