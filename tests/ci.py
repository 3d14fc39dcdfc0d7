"""What a test does when something it needs is missing: on a laptop it skips and says why;
in CI (``CI=true``, set by ``.ci/run``) it fails, since there nothing may silently not run."""

from __future__ import annotations

import os

import pytest


def not_here(message: str) -> None:
    """Skip (on a laptop) or fail (in CI) with ``message``."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
