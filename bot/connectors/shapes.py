"""Field types every connector's response models share, so all four vendors' answers are held
to the same rules: an id is text that is safe to put in a URL, a count is a whole number, and
nothing is silently coerced from another type (a dict is never read as a string, ``true``
never as 1). A field that fails is an error for that system, named by the model's path.

Messages here never quote the value: they reach users, and vendor data must not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from bot.errors import ConnectorError

__all__ = [
    "MAX_ID_LENGTH",
    "Count",
    "IdOrNumber",
    "OptCount",
    "OptIdOrNumber",
    "OptVendorId",
    "StrictModel",
    "VendorId",
    "check_id",
    "check_id_or_number",
    "optional",
    "url_id",
]

# Every id the four vendors document is a UUID, a hex string or a small number; 128 leaves
# room for prefixes while keeping a URL (and a Slack message) a sane size.
MAX_ID_LENGTH = 128
# Letters, digits and the URL-safe punctuation ids use; nothing that could end a path
# segment or start a query (/ ? # %), no spaces or control characters.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@~-]*")
_ID_RULE = f"expected an id of 1-{MAX_ID_LENGTH} letters, digits or . _ : @ ~ -"
# Beyond 18 digits a "count" is not one (and int() of a huge string costs real CPU).
_MAX_COUNT_DIGITS = 18


class StrictModel(BaseModel):
    """Base of response models: strict types, unknown fields ignored (vendors add fields)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


def check_id(value: object) -> str:
    """``value`` as an id, if it is text matching the id rule."""
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or _ID.fullmatch(value) is None:
        raise ValueError(_ID_RULE)
    return value


def check_id_or_number(value: object) -> str:
    """:func:`check_id`, also taking a non-negative whole number as its digits: for vendors
    whose ids are numbers (BMC) or whose wire format is known to send some as numbers."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return check_id(value)


def url_id(system: str, noun: str, value: str) -> str:
    """``value`` checked before it goes into a URL path: an id that did not come from a
    validated vendor answer (a stored task, a typed command) gets the same rule."""
    try:
        return check_id(value)
    except ValueError:
        raise ConnectorError(
            system,
            f"the {noun} id is not one maintbot can send ({_ID_RULE}); check the task id",
        ) from None


def _count(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    # Digit strings are a reading some vendors' wire formats force on numbers (documented
    # per connector); anything else (a float, a sign, a word, an object) is not a count.
    if (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_COUNT_DIGITS
        and value.isascii()
        and value.isdigit()
    ):
        return int(value)
    raise ValueError("expected a whole number")


def optional(check: Callable[[object], Any]) -> Callable[[object], Any]:
    """``check`` for a field that may be absent, ``null`` or empty text."""

    def run(value: object) -> Any:
        return None if value is None or value == "" else check(value)

    return run


VendorId = Annotated[str, BeforeValidator(check_id)]
OptVendorId = Annotated[str | None, BeforeValidator(optional(check_id))]
IdOrNumber = Annotated[str, BeforeValidator(check_id_or_number)]
OptIdOrNumber = Annotated[str | None, BeforeValidator(optional(check_id_or_number))]
Count = Annotated[int, BeforeValidator(_count)]
OptCount = Annotated[int | None, BeforeValidator(optional(_count))]
