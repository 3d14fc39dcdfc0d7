"""Approval policy and the approval flow: who may approve, expiry, single use, races."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from bot.approvals import Policy, parse_approvers
from bot.clock import ManualClock
from bot.errors import ApprovalError, LifecycleError
from bot.lifecycle import approve_now, decide, plan_window, request_approval
from bot.model import ApprovalState, TaskKind, TaskRef, Window, WindowState
from bot.store import Store

POLICY = Policy(approvers=frozenset({"bob", "carol", "alice"}))
TASKS = [(TaskRef(system="talend", kind=TaskKind.TASK, id="t1"), "Nightly load")]


def _window(clock: ManualClock, starts_in: timedelta = timedelta(hours=2)) -> Window:
    start = clock() + starts_in
    return Window(start=start, end=start + timedelta(hours=2), tz="UTC", text="test window")


def _planned(store: Store, clock: ManualClock, **kw: timedelta) -> str:
    return plan_window(store, _window(clock, **kw), TASKS, requested_by="alice", now=clock()).id


# -- the policy ----------------------------------------------------------------------------
def test_parse_approvers_accepts_ids_names_and_mentions() -> None:
    names = parse_approvers("U123, @bob <@U456|carol>\n dave").names
    assert names == {"U123", "bob", "U456", "dave"}
    assert parse_approvers("").names == frozenset()


def test_nobody_configured_refuses_with_what_to_set() -> None:
    with pytest.raises(ApprovalError, match="MAINTBOT_APPROVERS"):
        Policy(approvers=frozenset()).check("bob", "alice")


def test_non_approver_refused_and_named() -> None:
    with pytest.raises(ApprovalError, match="mallory is not an approver"):
        POLICY.check("mallory", "alice")


def test_self_approval_refused_unless_allowed() -> None:
    with pytest.raises(ApprovalError, match="someone else has to approve"):
        POLICY.check("alice", "alice")
    Policy(approvers=POLICY.approvers, allow_self_approval=True).check("alice", "alice")
    # Allowing self-approval does not make a non-approver an approver.
    with pytest.raises(ApprovalError, match="not an approver"):
        Policy(approvers=POLICY.approvers, allow_self_approval=True).check("zed", "zed")


def test_manage_rights() -> None:
    assert POLICY.check_manage("alice", "alice", "cancel") is True  # alice is an approver too
    assert POLICY.check_manage("bob", "alice", "end") is True
    assert POLICY.check_manage("bob", "alice", "extend", past_approved_end=timedelta(days=3))
    with pytest.raises(ApprovalError, match="mallory may not cancel early this window"):
        POLICY.check_manage("mallory", "alice", "cancel")


REQUESTER_POLICY = Policy(approvers=frozenset({"bob"}))


def test_the_requester_may_end_and_extend_up_to_the_limit() -> None:
    assert REQUESTER_POLICY.check_manage("dave", "dave", "end") is False  # not as approver
    assert REQUESTER_POLICY.check_manage("dave", "dave", "cancel") is False
    past = timedelta(minutes=60)  # the default limit, exactly
    assert REQUESTER_POLICY.check_manage("dave", "dave", "extend", past_approved_end=past) is False
    with pytest.raises(ApprovalError) as refused:
        REQUESTER_POLICY.check_manage(
            "dave", "dave", "extend", past_approved_end=timedelta(minutes=75)
        )
    # The refusal says what to do, and does not talk about approving the window.
    assert str(refused.value) == (
        "That would keep the window 1h 15m past the end that was approved; dave may extend it "
        "by up to 1h in total (MAINTBOT_EXTEND_LIMIT_MINUTES), beyond that an approver has to "
        "(approvers: bob)."
    )


def test_someone_else_may_neither_end_nor_extend() -> None:
    for action, verb in (("end", "end early"), ("extend", "extend")):
        with pytest.raises(ApprovalError) as refused:
            REQUESTER_POLICY.check_manage("eve", "dave", action)  # type: ignore[arg-type]
        assert str(refused.value) == (
            f"eve may not {verb} this window: only the requester (dave) or an approver may "
            "(approvers: bob)."
        )


def test_an_approver_extending_their_own_window_counts_as_its_requester() -> None:
    with pytest.raises(ApprovalError, match="beyond that an approver has to"):
        REQUESTER_POLICY.check_manage("bob", "bob", "extend", past_approved_end=timedelta(hours=2))
    self_ok = Policy(approvers=frozenset({"bob"}), allow_self_approval=True)
    assert self_ok.check_manage("bob", "bob", "extend", past_approved_end=timedelta(hours=2))


def test_policy_can_reserve_ending_and_extending_to_approvers() -> None:
    strict = Policy(approvers=frozenset({"bob"}), end_by="approver", extend_by="approver")
    with pytest.raises(ApprovalError, match="dave may not end early this window: only an approver"):
        strict.check_manage("dave", "dave", "end")
    with pytest.raises(ApprovalError, match="dave may not extend this window: only an approver"):
        strict.check_manage("dave", "dave", "extend", past_approved_end=timedelta(minutes=5))
    assert strict.check_manage("bob", "dave", "end") is True


def test_the_limit_and_rights_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import Settings

    monkeypatch.setenv("MAINTBOT_EXTEND_LIMIT_MINUTES", "15")
    monkeypatch.setenv("MAINTBOT_END_BY", "approver")
    policy = Policy.from_settings(Settings())
    assert policy.extend_limit == timedelta(minutes=15)
    assert policy.end_by == "approver"
    assert policy.extend_by == "requester_or_approver"
    monkeypatch.setenv("MAINTBOT_END_BY", "anyone")
    from bot.config import load_settings
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="MAINTBOT_END_BY"):
        load_settings()


# -- the flow ------------------------------------------------------------------------------
def test_approve_moves_window_to_approved_and_is_audited(store: Store, clock: ManualClock) -> None:
    wid = _planned(store, clock)
    approval = request_approval(store, wid, requested_by="alice", now=clock())
    decision = decide(
        store, approval.id, user="bob", approve=True, policy=POLICY, now=clock(), request_id="r1"
    )
    assert decision.acted
    assert decision.approval.state is ApprovalState.APPROVED
    assert decision.approval.decided_by == "bob"
    assert decision.window.state is WindowState.APPROVED
    assert decision.window.approved_by == "bob"
    rows = store.audit_rows(10, window_id=wid)
    assert next((r.actor, r.action, r.outcome, r.request_id) for r in rows) == (
        "bob",
        "approve",
        "ok",
        "r1",
    )


def test_non_approver_refused_and_audited(store: Store, clock: ManualClock) -> None:
    wid = _planned(store, clock)
    approval = request_approval(store, wid, requested_by="alice", now=clock())
    with pytest.raises(ApprovalError, match="not an approver"):
        decide(store, approval.id, user="mallory", approve=True, policy=POLICY, now=clock())
    refusal = store.audit_rows(1, window_id=wid)[0]
    assert (refusal.actor, refusal.action, refusal.outcome) == ("mallory", "approve", "refused")
    assert refusal.reason is not None
    assert "not an approver" in refusal.reason
    assert store.get_approval(approval.id).state is ApprovalState.PENDING
    assert store.get_window(wid).state is WindowState.PLANNED


def test_requester_cannot_approve_own_request(store: Store, clock: ManualClock) -> None:
    wid = _planned(store, clock)
    approval = request_approval(store, wid, requested_by="alice", now=clock())
    with pytest.raises(ApprovalError, match="someone else"):
        decide(store, approval.id, user="alice", approve=True, policy=POLICY, now=clock())
    allowing = Policy(approvers=POLICY.approvers, allow_self_approval=True)
    assert decide(
        store, approval.id, user="alice", approve=True, policy=allowing, now=clock()
    ).acted


def test_requester_may_withdraw_and_reject_cancels(store: Store, clock: ManualClock) -> None:
    wid = _planned(store, clock)
    approval = request_approval(store, wid, requested_by="alice", now=clock())
    decision = decide(store, approval.id, user="alice", approve=False, policy=POLICY, now=clock())
    assert decision.acted
    assert decision.approval.state is ApprovalState.REJECTED
    assert decision.window.state is WindowState.CANCELLED


def test_expires_at_window_start(store: Store, clock: ManualClock) -> None:
    wid = _planned(store, clock, starts_in=timedelta(hours=2))
    approval = request_approval(store, wid, requested_by="alice", now=clock())
    assert approval.expires_at == store.get_window(wid).start
    clock.advance(timedelta(hours=2))
    decision = decide(store, approval.id, user="bob", approve=True, policy=POLICY, now=clock())
    assert not decision.acted
    assert decision.approval.state is ApprovalState.EXPIRED
    assert decision.window.state is WindowState.PLANNED
    assert store.audit_rows(1, window_id=wid)[0].outcome == "expired"


def test_ttl_shorter_than_start(store: Store, clock: ManualClock) -> None:
    wid = _planned(store, clock, starts_in=timedelta(days=3))
    approval = request_approval(store, wid, requested_by="alice", now=clock())
    assert approval.expires_at == clock() + timedelta(hours=24)


def test_single_use(store: Store, clock: ManualClock) -> None:
    wid = _planned(store, clock)
    approval = request_approval(store, wid, requested_by="alice", now=clock())
    assert decide(store, approval.id, user="bob", approve=True, policy=POLICY, now=clock()).acted
    again = decide(store, approval.id, user="carol", approve=False, policy=POLICY, now=clock())
    assert not again.acted
    assert again.approval.decided_by == "bob"
    assert again.window.state is WindowState.APPROVED
    assert store.audit_rows(1, window_id=wid)[0].outcome == "already_decided"


async def test_concurrent_decides_exactly_one_acts(store: Store, clock: ManualClock) -> None:
    wid = _planned(store, clock)
    approval = request_approval(store, wid, requested_by="alice", now=clock())
    barrier = threading.Barrier(4)

    def click(user: str, approve: bool) -> bool:
        barrier.wait()
        return decide(
            store, approval.id, user=user, approve=approve, policy=POLICY, now=clock()
        ).acted

    results = await asyncio.gather(
        asyncio.to_thread(click, "bob", True),
        asyncio.to_thread(click, "carol", True),
        asyncio.to_thread(click, "bob", True),
        asyncio.to_thread(click, "carol", False),
    )
    assert sorted(results) == [False, False, False, True]
    final = store.get_approval(approval.id)
    window = store.get_window(wid)
    if final.state is ApprovalState.APPROVED:
        assert window.state is WindowState.APPROVED
    else:
        assert final.state is ApprovalState.REJECTED
        assert window.state is WindowState.CANCELLED


def test_decide_on_cancelled_window_does_not_act(store: Store, clock: ManualClock) -> None:
    from bot.lifecycle import cancel_window

    wid = _planned(store, clock)
    approval = request_approval(store, wid, requested_by="alice", now=clock())
    cancel_window(store, wid, by="alice", now=clock())
    decision = decide(store, approval.id, user="bob", approve=True, policy=POLICY, now=clock())
    assert not decision.acted
    assert decision.window.state is WindowState.CANCELLED


def test_unknown_approval_id(store: Store, clock: ManualClock) -> None:
    with pytest.raises(ApprovalError, match="does not exist"):
        decide(store, "a_nope", user="bob", approve=True, policy=POLICY, now=clock())


def test_approve_now_same_rules(store: Store, clock: ManualClock) -> None:
    wid = _planned(store, clock)
    with pytest.raises(ApprovalError):
        approve_now(
            store, wid, requested_by="alice", approved_by="alice", policy=POLICY, now=clock()
        )
    assert store.get_window(wid).state is WindowState.PLANNED
    assert store.approvals_for(wid) == []
    record = approve_now(
        store, wid, requested_by="alice", approved_by="bob", policy=POLICY, now=clock()
    )
    assert record.state is WindowState.APPROVED
    (approval,) = store.approvals_for(wid)
    assert approval.state is ApprovalState.APPROVED
    assert approval.decided_by == "bob"
    with pytest.raises(LifecycleError, match="approved"):
        approve_now(
            store, wid, requested_by="alice", approved_by="carol", policy=POLICY, now=clock()
        )


def test_window_starting_now_may_be_approved_until_its_end(
    store: Store, clock: ManualClock
) -> None:
    # "now for 1 hour": by the time the request is made the start has passed.
    start = clock()
    clock.advance(timedelta(seconds=2))
    record = plan_window(
        store,
        Window(start=start, end=start + timedelta(hours=1), tz="UTC", text="now for 1 hour"),
        TASKS,
        requested_by="alice",
        now=clock(),
    )
    approval = request_approval(store, record.id, requested_by="alice", now=clock())
    assert approval.expires_at == record.end
    assert decide(store, approval.id, user="bob", approve=True, policy=POLICY, now=clock()).acted
