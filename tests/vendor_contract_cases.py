"""What the vendor contract suite (tests/test_vendor_contract.py) needs to know about a vendor
that the registry and the simulators do not say, as data keyed by registry name.

Everything else the suite reads from :data:`bot.vendors.VENDORS` and from what every
simulator offers (``config_entry``, ``credentials``, ``state``, ``faults``,
``expire_tokens``, ``live_tokens``). A vendor without an entry here gets :data:`DEFAULT`:
every task in its simulator's state is listed, and its listing is not expected to page. So a
newly registered vendor is run through the whole suite at once, and only needs an entry if
its simulator holds tasks its default configuration cannot see, or its API pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.base import Simulator

__all__ = ["CASES", "DEFAULT", "VendorCase", "case_for"]


def _everything(sim: Simulator, task: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class VendorCase:
    # Whether a task of ``GET /_sandbox/state`` is one ``list_tasks`` of the simulator's own
    # ``config_entry()`` must return (another environment, project or a soft-deleted task
    # is not).
    visible: Callable[[Simulator, dict[str, Any]], bool] = _everything
    # The simulator's ``scale`` at which its task listing spans several pages, and a path
    # fragment of that listing's requests (``None``: the API documents no paging).
    paging_scale: int = 1
    paged_path: str | None = None
    # The table under which the connector signs in for a token that expires, for the token
    # renewal tests (a vendor whose recommended way signs each request instead, Huawei with
    # AK/SK, runs them on its token sign-in).
    token_entry: Callable[[Simulator], dict[str, Any]] = lambda sim: sim.config_entry()


DEFAULT = VendorCase()

CASES: dict[str, VendorCase] = {
    # The connector reads one environment; the simulator has three. Talend's task list
    # holds 41 tasks at any scale, one page of 100: its paging is the events search's
    # (tests/test_talend.py).
    "talend": VendorCase(
        visible=lambda sim, task: task["environment"] == getattr(sim, "environment_id", None),
    ),
    # findSchedule answers soft-deleted schedules too; they are no task. No paging is
    # documented (contracts gap): one findSchedule returns everything.
    "pyramid": VendorCase(visible=lambda sim, task: task["state"] != "DELETED"),
    # One project per configured instance; the simulator holds two. Scale 10 gives 120
    # app tasks (pages of 100) and 120 desktop tasks (pages of 50) in the main project.
    "huawei": VendorCase(
        visible=lambda sim, task: task["project_id"] == sim.config_entry()["project_id"],
        paging_scale=10,
        paged_path="-task",
        token_entry=lambda sim: sim.config_entry(auth="password"),
    ),
}


def case_for(vendor: str) -> VendorCase:
    return CASES.get(vendor, DEFAULT)
