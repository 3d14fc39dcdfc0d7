"""The fake Slack's modals refuse what Slack refuses (tests/fakeviews.py), so a bot that
opens a modal too late, twice from one click, or updates one someone else changed fails
here as it would in a workspace."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fakeslack import FakeSlack
from fakeviews import TRIGGER_SECONDS
from slackclient import BOT_TOKEN

TITLE = {"type": "plain_text", "text": "Plan a window"}
SUBMIT = {"type": "plain_text", "text": "Plan"}


def form(*, initial: str | None = "Saturday 2-4am", block: str = "window") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "text"}
    if initial is not None:
        element["initial_value"] = initial
    return {
        "type": "modal",
        "callback_id": "plan",
        "title": TITLE,
        "submit": SUBMIT,
        "blocks": [
            {
                "type": "input",
                "block_id": block,
                "label": {"type": "plain_text", "text": "When"},
                "element": element,
            }
        ],
    }


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


def call(fake: FakeSlack, method: str, **params: Any) -> dict[str, Any]:
    answer = httpx.post(
        f"{fake.api_url}{method}",
        json=params,
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        timeout=10,
    )
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def test_a_trigger_opens_one_modal_once(fake: FakeSlack) -> None:
    trigger = fake.issue_trigger("U1")
    opened = call(fake, "views.open", trigger_id=trigger, view=form())
    assert opened["ok"] is True
    view = opened["view"]
    assert view["id"].startswith("V")
    assert view["hash"]
    assert view["root_view_id"] == view["id"]
    # What the person sees before typing anything is the initial value.
    assert view["state"]["values"] == {
        "window": {"text": {"type": "plain_text_input", "value": "Saturday 2-4am"}}
    }
    again = call(fake, "views.open", trigger_id=trigger, view=form())
    assert again == {"ok": False, "error": "exchanged_trigger_id"}
    assert fake.modal("U1") is not None
    assert fake.modal("U1").id == view["id"]


def test_a_made_up_missing_or_stale_trigger_is_refused(fake: FakeSlack) -> None:
    assert call(fake, "views.open", trigger_id="12345.98765.abcd", view=form()) == {
        "ok": False,
        "error": "invalid_trigger_id",
    }
    assert call(fake, "views.open", view=form()) == {"ok": False, "error": "invalid_arguments"}
    trigger = fake.issue_trigger("U1")
    time.sleep(TRIGGER_SECONDS + 0.2)
    assert call(fake, "views.open", trigger_id=trigger, view=form()) == {
        "ok": False,
        "error": "expired_trigger_id",
    }
    assert fake.modal("U1") is None


def test_a_modal_with_inputs_needs_a_submit_button(fake: FakeSlack) -> None:
    view = form()
    del view["submit"]
    trigger = fake.issue_trigger("U1")
    assert call(fake, "views.open", trigger_id=trigger, view=view) == {
        "ok": False,
        "error": "invalid_blocks",
    }
    assert any("submit" in v for v in fake.violations)


def test_update_keeps_what_was_typed_and_refuses_a_stale_hash(fake: FakeSlack) -> None:
    opened = call(fake, "views.open", trigger_id=fake.issue_trigger("U1"), view=form())["view"]
    fake.set_value("U1", "window", {"type": "plain_text_input", "value": "Sunday 1-3am"})
    updated = call(fake, "views.update", view_id=opened["id"], hash=opened["hash"], view=form())
    assert updated["ok"] is True
    assert updated["view"]["hash"] != opened["hash"]
    # Same block_id and action_id: the typed text survives; a new block starts fresh.
    assert updated["view"]["state"]["values"]["window"]["text"]["value"] == "Sunday 1-3am"
    stale = call(fake, "views.update", view_id=opened["id"], hash=opened["hash"], view=form())
    assert stale == {"ok": False, "error": "hash_conflict"}
    renamed = call(fake, "views.update", view_id=opened["id"], view=form(block="when"))
    assert renamed["view"]["state"]["values"] == {
        "when": {"text": {"type": "plain_text_input", "value": "Saturday 2-4am"}}
    }
    assert call(fake, "views.update", view_id="V404", view=form()) == {
        "ok": False,
        "error": "not_found",
    }
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    assert call(fake, "views.update", view_id=opened["id"], view=home) == {
        "ok": False,
        "error": "invalid_arguments",
    }


def test_push_needs_an_open_modal_and_stops_at_three(fake: FakeSlack) -> None:
    assert call(fake, "views.push", trigger_id=fake.issue_trigger("U1"), view=form()) == {
        "ok": False,
        "error": "not_found",
    }
    call(fake, "views.open", trigger_id=fake.issue_trigger("U1"), view=form())
    for _ in range(2):
        assert call(fake, "views.push", trigger_id=fake.issue_trigger("U1"), view=form())["ok"]
    assert call(fake, "views.push", trigger_id=fake.issue_trigger("U1"), view=form()) == {
        "ok": False,
        "error": "push_limit_reached",
    }
    stack = fake.modals("U1")
    assert len(stack) == 3
    assert stack[2].previous_id == stack[1].id
    assert {v.root_id for v in stack} == {stack[0].id}


def test_a_submission_answer_moves_the_stack_as_slack_does(fake: FakeSlack) -> None:
    first = call(fake, "views.open", trigger_id=fake.issue_trigger("U1"), view=form())["view"]
    fake.submitted("U1", first["id"], {"response_action": "errors", "errors": {"window": "no"}})
    top = fake.modal("U1")
    assert top is not None
    assert top.id == first["id"]
    assert top.errors == {"window": "no"}
    fake.submitted("U1", first["id"], {"response_action": "update", "view": form(initial="x")})
    top = fake.modal("U1")
    assert top is not None
    assert top.errors == {}
    assert top.id == first["id"]
    call(fake, "views.push", trigger_id=fake.issue_trigger("U1"), view=form())
    second = fake.modals("U1")[-1]
    fake.submitted("U1", second.id, None)  # an empty ack closes the top view only
    assert [v.id for v in fake.modals("U1")] == [first["id"]]
    fake.submitted("U1", first["id"], {"response_action": "clear"})
    assert fake.modal("U1") is None
