"""Replicas alerting about the same window at the same moment start one thread for it: the
first claims it in the store, the others wait for it and reply there; a claim whose holder
died is taken over."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fakeslack import FakeSlack
from slack_sdk.web.async_client import AsyncWebClient
from slackclient import BOT_TOKEN

from bot.clock import ManualClock
from bot.lifecycle import plan_window
from bot.model import TaskKind, TaskRef, Window
from bot.service.threads import StoreThreads
from bot.slack.notifier import SlackNotifier
from bot.store import Store

pytestmark = pytest.mark.engines("sqlite", "postgresql")

ALERTS = "C0ALERTS1"


def _window(store: Store, clock: ManualClock) -> str:
    start = clock() + timedelta(hours=1)
    record = plan_window(
        store,
        Window(start=start, end=start + timedelta(hours=2), tz="UTC", text="t"),
        [(TaskRef(system="talend", kind=TaskKind.TASK, id="t1"), "Nightly")],
        requested_by="alice",
        now=clock(),
    )
    return record.id


async def test_replicas_alerting_at_once_start_one_thread(
    db_location: str, clock: ManualClock
) -> None:
    with FakeSlack() as fake:
        stores = [Store(db_location, clock=clock) for _ in range(3)]
        clients = [AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url) for _ in stores]
        notifiers = [
            SlackNotifier(c, ALERTS, StoreThreads(s)) for c, s in zip(clients, stores, strict=True)
        ]
        try:
            window_id = _window(stores[0], clock)
            record = stores[0].get_window(window_id)
            await asyncio.gather(
                *(
                    n.notify(record, "reminder", f"from replica {i}")
                    for i, n in enumerate(notifiers)
                )
            )
            thread = stores[0].get_window(window_id).alert_ts
            assert thread is not None
            top = fake.messages(ALERTS, replies=False)
            assert [m["_ts"] for m in top] == [thread]  # one thread, nothing else on top
            replies = sorted(m["text"] for m in fake.messages(ALERTS) if m.get("thread_ts"))
            assert len(replies) == 3
            assert all("from replica" in text for text in replies)
        finally:
            for each in stores:
                each.close()


def test_a_claim_whose_holder_died_is_taken_over(store: Store, clock: ManualClock) -> None:
    window_id = _window(store, clock)
    book = StoreThreads(store)
    assert book.claim_thread(window_id)
    assert not book.claim_thread(window_id)  # held, and fresh
    clock.advance(timedelta(seconds=61))
    assert book.claim_thread(window_id)  # the holder never recorded a thread: it died
    book.unclaim_thread(window_id)
    assert book.claim_thread(window_id)
