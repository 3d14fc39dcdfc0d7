"""Each window's thread in the alert channel, as the store keeps it (the notifier's
:class:`~bot.lifecycle.notify.ThreadBook`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.lifecycle.notify import WindowThread
from bot.model import ApprovalRecord, PlannedTask, WindowRecord
from bot.store import Store

__all__ = ["StoreThreads"]

# A window changes while its thread is posted (the clock moving it on): try again this often.
_ATTEMPTS = 5


@dataclass(frozen=True)
class StoreThreads:
    store: Store

    def window(self, window_id: str) -> WindowRecord:
        return self.store.get_window(window_id)

    def tasks(self, window_id: str) -> list[PlannedTask]:
        return self.store.window_tasks(window_id)

    def approval(self, window_id: str) -> ApprovalRecord | None:
        """The window's latest approval request, if it ever had one."""
        found = self.store.approvals_for(window_id)
        return found[-1] if found else None

    def thread(self, window_id: str) -> WindowThread | None:
        window = self.store.get_window(window_id)
        if window.alert_channel and window.alert_ts:
            return WindowThread(window.alert_channel, window.alert_ts)
        return None

    def thread_posted(self, window_id: str, thread: WindowThread) -> None:
        """Record the thread; the first one recorded stays (a second is never posted by
        this process, which holds a lock per window while it posts one)."""
        for _ in range(_ATTEMPTS):
            window = self.store.get_window(window_id)
            if window.alert_ts:
                return
            if self.store.update_window_fields(
                window_id, window.version, alert_channel=thread.channel, alert_ts=thread.ts
            ):
                return
        raise RuntimeError(f"window {window_id} kept changing; its thread was not recorded")
