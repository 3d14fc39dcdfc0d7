"""Each window's thread in the alert channel, as the store keeps it (the notifier's
:class:`~bot.lifecycle.notify.ThreadBook`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.lifecycle.notify import WindowThread
from bot.model import ApprovalRecord, PlannedTask, WindowRecord
from bot.store import Store

__all__ = ["StoreThreads"]

# A window changes while its thread is posted (the clock moving it on): try again this often.
_ATTEMPTS = 5
# How long a claim to post a window's thread holds before another process may take it over.
_CLAIM_FOR = timedelta(seconds=60)


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
        """The window's thread in the alert channel; for an occurrence of a series that has
        none yet, the series' (its earliest occurrence's that has one), so a series keeps
        one thread however many occurrences it runs."""
        window = self.store.get_window(window_id)
        if window.alert_channel and window.alert_ts:
            return WindowThread(window.alert_channel, window.alert_ts)
        if window.series_id is not None:
            for sibling in self.store.series_windows(window.series_id):
                if sibling.alert_channel and sibling.alert_ts:
                    return WindowThread(sibling.alert_channel, sibling.alert_ts)
        return None

    def claim_thread(self, window_id: str) -> bool:
        """Be the one process to post the window's thread (replicas alerting about the same
        window at once would otherwise each post one). A claim whose holder has not
        recorded a thread within :data:`_CLAIM_FOR` is taken over: it died on the way."""
        key = f"thread-claim:{window_id}"
        now = self.store.clock()
        if self.store.claim_kv(key, now.isoformat()):
            return True
        held = self.store.get_kv(key)
        try:
            stale = held is not None and now - datetime.fromisoformat(held) > _CLAIM_FOR
        except ValueError:
            stale = True
        if not stale or held is None:
            return False
        self.store.release_kv(key, held)
        return self.store.claim_kv(key, now.isoformat())

    def unclaim_thread(self, window_id: str) -> None:
        """The thread could not be posted: let the next alert (here or elsewhere) try."""
        key = f"thread-claim:{window_id}"
        held = self.store.get_kv(key)
        if held is not None:
            self.store.release_kv(key, held)

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
