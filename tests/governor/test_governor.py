"""The rate governor, driven by a manual clock: every test is instant and deterministic."""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading

import pytest
from support.governor_helpers import (
    DAY_ID,
    KEY,
    MINUTE_ID,
    Waiting,
    admitted_now,
    governor,
    rejection,
    run,
    settle,
)

from textservice._governor import (
    Cost,
    GovernorSettings,
    MonotonicClock,
    QuotaKey,
    QuotaKeyStats,
    QuotaRefused,
    QuotaStats,
    RateGovernor,
    Readmit,
    Refusal,
    Rejection,
    Ticket,
)
from textservice._governor.limits import AdaptiveLimit
from textservice._proto.google import rpc

# -- adaptive concurrency ----------------------------------------------------------------------


def test_aimd_steps() -> None:
    limit = AdaptiveLimit(8, decrease=0.5, increase=1.0)
    assert (limit.value, limit.slots) == (8.0, 8)
    assert limit.on_rejection(epoch=0) is True
    assert (limit.value, limit.epoch) == (4.0, 1)
    # a call sent before that decrease says nothing new: no second cut
    assert limit.on_rejection(epoch=0) is False
    assert limit.value == 4.0
    assert limit.on_rejection(epoch=1) is True
    assert limit.value == 2.0
    limit.on_rejection(epoch=2)
    limit.on_rejection(epoch=3)
    assert (limit.value, limit.slots) == (1.0, 1)  # never below 1
    limit.on_success()
    assert limit.value == 2.0  # + increase / limit
    limit.on_success()
    assert limit.value == 2.5
    for _ in range(200):
        limit.on_success()
    assert limit.value == 8.0  # never above the maximum


def test_rejections_shrink_the_calls_in_flight_once_per_burst() -> None:
    async def scenario() -> None:
        gov, clock = governor(max_concurrency=4, learn_limits=False, jitter=0.0)
        tickets = [await admitted_now(gov) for _ in range(4)]
        fifth = Waiting(gov)
        await settle()
        assert fifth.ticket is None  # four in flight: the limit
        # all four were sent together: their rejections cut the limit once, 4 -> 2 (and
        # pause the key once, for the backoff: RetryInfo's 0 s is below its floor)
        for ticket in tickets:
            assert ticket.rejected(rejection(delay=0.0)) == Readmit(1.0)
        clock.advance(1.0)
        await settle()
        assert gov.snapshot().keys[KEY].limit == 2.0
        assert fifth.ticket is not None
        sixth, seventh = Waiting(gov), Waiting(gov)
        await settle()
        assert sixth.ticket is not None
        assert seventh.ticket is None  # two in flight: the new limit
        fifth.ticket.succeeded()
        await settle()
        assert seventh.ticket is not None
        assert gov.snapshot().keys[KEY].limit == 2.5

    run(scenario)


# -- one pause for all -------------------------------------------------------------------------


def test_a_retry_delay_holds_every_new_call_of_the_key() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0)
        first = await admitted_now(gov)
        other_key = QuotaKey("EmbedText", "models/embedding-gecko-001")
        assert first.rejected(rejection(delay=10.0)) == Readmit(10.0)
        held = Waiting(gov)
        await settle()
        assert held.ticket is None
        await admitted_now(gov, key=other_key)  # other keys are not paused
        clock.advance(9.999)
        await settle()
        assert held.ticket is None
        clock.advance(0.001)
        await settle()
        assert held.ticket is not None
        assert held.ticket.waited == pytest.approx(10.0)

    run(scenario)


def test_jittered_release_spreads_the_waiters_over_the_spread() -> None:
    def release_times(seed: int) -> list[float]:
        async def scenario() -> list[float]:
            gov, clock = governor(seed=seed, jitter=0.5, max_concurrency=8)
            first = await admitted_now(gov)
            first.rejected(rejection(delay=10.0))
            waiting = [Waiting(gov) for _ in range(4)]  # the limit after the cut
            await settle()
            clock.advance(20.0)
            await settle()
            tickets = [w.ticket for w in waiting]
            assert all(t is not None for t in tickets)
            return [t.waited for t in tickets if t is not None]

        return run(scenario)

    times = release_times(seed=1)
    # released within [10, 10 + 0.5 * 10], not at one instant
    assert all(10.0 <= t <= 15.0 for t in times)
    assert len(set(times)) == len(times)
    assert max(times) - min(times) > 1.0
    assert release_times(seed=1) == times  # deterministic for a seed
    assert release_times(seed=2) != times


def test_without_retry_info_the_pause_backs_off_and_resets_on_success() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0, backoff=1.0, minute=60.0)
        pauses = []
        for _ in range(8):
            ticket = await admitted_now(gov)
            decision = ticket.rejected(rejection())
            assert isinstance(decision, Readmit)
            pauses.append(decision.delay)
            clock.advance(decision.delay)
        assert pauses == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]  # at most a minute
        (await admitted_now(gov)).succeeded()
        decision = (await admitted_now(gov)).rejected(rejection())
        assert decision == Readmit(1.0)

    run(scenario)


def test_a_longer_pause_wins_over_a_shorter_one() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0)
        a, b = await admitted_now(gov), await admitted_now(gov)
        assert a.rejected(rejection(delay=5.0)) == Readmit(5.0)
        clock.advance(1.0)
        assert b.rejected(rejection(delay=2.0)) == Readmit(4.0)  # the pause still has 4 s
        assert gov.snapshot().keys[KEY].paused_for == 4.0

    run(scenario)


# -- a floor under the pause (issue 18: retry storms) ------------------------------------------


@pytest.mark.parametrize("asked", [0.0, -5.0, 1e-9, 0.5])
def test_a_retry_info_below_the_backoff_pauses_for_the_backoff_doubling(asked: float) -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0, learn_limits=False)
        waits = []
        for _ in range(8):  # one call, refused again each time it is let through
            ticket = await admitted_now(gov)
            decision = ticket.rejected(
                Rejection.from_details(
                    [rpc.RetryInfo(retry_delay=datetime.timedelta(seconds=asked))]
                )
            )
            assert isinstance(decision, Readmit)
            waits.append(decision.delay)
            held = Waiting(gov)
            await settle()
            assert held.ticket is None  # held for the whole pause, whatever RetryInfo said
            clock.advance(decision.delay)
            await settle()
            assert held.ticket is not None
            held.ticket.failed()
        assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
        ticket = await admitted_now(gov)
        ticket.succeeded()  # a success starts the backoff over
        assert (await admitted_now(gov)).rejected(rejection(delay=0.0)) == Readmit(1.0)

    run(scenario)


def test_a_retry_info_at_or_over_the_backoff_is_honoured_as_it_is() -> None:
    async def scenario() -> None:
        gov, _ = governor(jitter=0.0)
        assert (await admitted_now(gov)).rejected(rejection(delay=1.0)) == Readmit(1.0)
        gov2, _ = governor(jitter=0.0)
        assert (await admitted_now(gov2)).rejected(rejection(delay=38.0)) == Readmit(38.0)

    run(scenario)


def test_the_pause_after_a_zero_retry_info_is_jittered() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.2, learn_limits=False, seed=3)
        (await admitted_now(gov)).rejected(rejection(delay=0.0))
        held = [Waiting(gov) for _ in range(20)]
        clock.advance(1.0)
        await settle()
        released: dict[int, int] = {}  # waiter -> the 10 ms step it was let through in
        for step in range(1, 22):  # the 0.2 s after the 1 s pause, in steps of 10 ms
            clock.advance(0.01)
            await settle()
            for n, w in enumerate(held):
                if w.ticket is not None and n not in released:
                    released[n] = step
                    w.ticket.succeeded()
        assert len(released) == 20
        assert len(set(released.values())) > 5  # spread over the 0.2 s, not all at once

    run(scenario)


def test_a_limit_the_server_states_holds_though_every_call_is_refused() -> None:
    async def scenario() -> None:
        # The server refuses every call, stating 5 a minute and asking for 1 s: the 60 s
        # that follow see 5 calls, not 60 (refused calls count: they were sent).
        gov, clock = governor(jitter=0.0, margin=0.0)
        sent = 0
        while clock.now() < 60.0:
            waiting = Waiting(gov)
            await settle()
            while waiting.ticket is None:
                clock.advance(0.5)
                await settle()
            if clock.now() >= 60.0:
                break
            sent += 1
            waiting.ticket.rejected(rejection(delay=1.0, quota_value=5))
        assert sent == 5

    run(scenario)


def test_a_guess_from_a_short_burst_is_forgotten_after_one_quota_minute() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0, margin=0.0, max_concurrency=8)
        burst = [await admitted_now(gov) for _ in range(8)]  # a job's first second
        for ticket in burst[:7]:
            ticket.succeeded()
        burst[7].rejected(rejection(delay=1.0))  # no quota_value: a guess of 7 a minute
        assert gov.snapshot().keys[KEY].limits == {"requests": 7.0}
        clock.advance(60.0)  # was: ten minutes at 7 a minute, 1/60 of a 420-a-minute quota
        assert gov.snapshot().keys[KEY].limits == {}
        for _ in range(50):
            (await admitted_now(gov)).succeeded()

    run(scenario)


def test_a_guess_never_lowers_a_limit_the_server_stated() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0, margin=0.0, max_concurrency=8)
        (await admitted_now(gov)).rejected(rejection(delay=1.0, quota_value=100))
        clock.advance(1.0)
        tickets = [await admitted_now(gov) for _ in range(3)]
        tickets[0].rejected(rejection(delay=1.0))  # names no limit: 2 got through
        assert gov.snapshot().keys[KEY].limits == {"requests": 100.0}
        clock.advance(9 * 60.0)
        assert gov.snapshot().keys[KEY].limits == {"requests": 100.0}  # kept ten minutes
        clock.advance(60.0)
        assert gov.snapshot().keys[KEY].limits == {}

    run(scenario)


# -- per-minute limits -------------------------------------------------------------------------


def test_requests_per_minute_sliding_window() -> None:
    async def scenario() -> None:
        gov, clock = governor(requests_per_minute=2, margin=0.0)
        (await admitted_now(gov)).succeeded()
        clock.advance(10.0)
        (await admitted_now(gov)).succeeded()
        third = Waiting(gov)
        await settle()
        assert third.ticket is None
        clock.advance(49.999)  # t = 59.999: the first call is still within the minute
        await settle()
        assert third.ticket is None
        clock.advance(0.001)  # t = 60
        await settle()
        assert third.ticket is not None
        assert third.ticket.waited == pytest.approx(50.0)
        fourth = Waiting(gov)
        await settle()
        clock.advance(10.0)  # t = 70: the second call leaves the window
        await settle()
        assert fourth.ticket is not None

    run(scenario)


def test_tokens_and_texts_per_minute() -> None:
    async def scenario() -> None:
        gov, clock = governor(tokens_per_minute=10, texts_per_minute=3, margin=0.0)
        six_tokens = Cost.of_texts(["x" * 24])  # 24 bytes -> 6 tokens
        assert six_tokens == Cost(1, 1, 6)
        await admitted_now(gov, six_tokens)
        held = Waiting(gov, six_tokens)  # 6 + 6 > 10
        await settle()
        assert held.ticket is None
        clock.advance(60.0)
        await settle()
        assert held.ticket is not None
        await admitted_now(gov, Cost(1, 2, 0))  # texts: 1 + 2 = 3
        held = Waiting(gov, Cost(1, 1, 0))
        await settle()
        assert held.ticket is None

    run(scenario)


def test_share_takes_a_fraction_of_each_limit() -> None:
    async def scenario() -> None:
        gov, _ = governor(requests_per_minute=8, share=0.25)
        assert gov.settings.limit("requests") == 2.0
        await admitted_now(gov)
        await admitted_now(gov)
        third = Waiting(gov)
        await settle()
        assert third.ticket is None
        assert gov.snapshot().keys[KEY].limits == {"requests": 2.0}

    run(scenario)


def test_the_margin_keeps_a_call_in_the_window_a_little_longer() -> None:
    async def scenario() -> None:
        gov, clock = governor(requests_per_minute=1, margin=0.01, minute=60.0)
        await admitted_now(gov)
        second = Waiting(gov)
        await settle()
        clock.advance(60.0)
        await settle()
        assert second.ticket is None
        clock.advance(0.6)
        await settle()
        assert second.ticket is not None

    run(scenario)


@pytest.mark.parametrize("outcome", ["succeeded", "rejected"])
def test_an_answered_call_counts_a_minute_from_its_answer(outcome: str) -> None:
    # A first call that had to open the connection reached the server 5 s after it was
    # admitted (beyond the 0.6 s margin): the server counts it from then. Its answer at 5 s
    # keeps it in the client's window until 65 s, not 60.6 s (admission + the margin).
    async def scenario() -> None:
        gov, clock = governor(requests_per_minute=1, margin=0.01, minute=60.0, jitter=0.0)
        first = await admitted_now(gov)
        clock.advance(5.0)
        if outcome == "succeeded":
            first.succeeded()
        else:
            assert first.rejected(rejection(delay=1.0)) == Readmit(1.0)
        second = Waiting(gov)
        await settle()
        clock.advance(60.6 - 5.0)  # t = 60.6: gone, counted from its admission
        await settle()
        assert second.ticket is None
        clock.advance(4.399)  # t = 64.999
        await settle()
        assert second.ticket is None
        clock.advance(0.001)  # t = 65: a minute after the server saw it at the latest
        await settle()
        assert second.ticket is not None

    run(scenario)


def test_a_call_answered_late_holds_back_the_calls_admitted_after_it() -> None:
    # Its entry now counts until 65.6 s, later than the entry admitted after it (61.6 s): a
    # call needing both freed waits for the later one.
    async def scenario() -> None:
        gov, clock = governor(texts_per_minute=2, margin=0.01, minute=60.0)
        first = await admitted_now(gov, Cost(1, 1, 0))
        clock.advance(1.0)
        (await admitted_now(gov, Cost(1, 1, 0))).succeeded()
        clock.advance(4.0)
        first.succeeded()  # t = 5: counted until 65 + 0.6
        both = Waiting(gov, Cost(1, 2, 0))
        clock.advance(61.7 - 5.0)  # t = 61.7: the second call's entry is gone
        await settle()
        assert both.ticket is None
        clock.advance(65.6 - 61.7)
        await settle()
        assert both.ticket is not None

    run(scenario)


def test_an_answer_within_the_margin_changes_nothing() -> None:
    async def scenario() -> None:
        gov, clock = governor(requests_per_minute=1, margin=0.01, minute=60.0)
        first = await admitted_now(gov)
        clock.advance(0.5)
        first.succeeded()
        second = Waiting(gov)
        clock.advance(60.6 - 0.5 - 0.001)
        await settle()
        assert second.ticket is None
        clock.advance(0.001)  # t = 60.6: admission + the margin, as before
        await settle()
        assert second.ticket is not None

    run(scenario)


def test_a_call_costlier_than_a_limit_is_refused_at_once() -> None:
    async def scenario() -> None:
        gov, _ = governor(texts_per_minute=100)
        with pytest.raises(QuotaRefused) as caught:
            await gov.acquire(KEY, Cost(1, 150, 0))
        assert caught.value.refusal.kind == "too_large"
        assert "150 texts exceeds the limit of 100 texts per minute" in str(caught.value)
        assert gov.snapshot().keys[KEY].refused == 1

    run(scenario)


def test_the_limit_a_quota_failure_names_is_learned() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0, margin=0.0, share=0.5)
        ticket = await admitted_now(gov)
        ticket.rejected(rejection(delay=1.0, quota_value=6))
        assert gov.snapshot().keys[KEY].limits == {"requests": 3.0}  # 6 x share
        clock.advance(1.0)
        for _ in range(2):
            (await admitted_now(gov)).succeeded()
        fourth = Waiting(gov)
        await settle()
        assert fourth.ticket is None  # 3 sent within the minute, the refused one included
        clock.advance(59.0)
        await settle()
        assert fourth.ticket is not None  # the refused call left the window

    run(scenario)


def test_without_a_quota_value_the_limit_is_what_got_through() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0, margin=0.0, max_concurrency=8)
        for _ in range(5):
            (await admitted_now(gov)).succeeded()
        clock.advance(30.0)
        in_flight = [await admitted_now(gov) for _ in range(3)]
        in_flight[0].rejected(rejection(delay=1.0))
        assert gov.snapshot().keys[KEY].limits == {"requests": 7.0}  # 5 + 2 still in flight
        in_flight[1].rejected(rejection(delay=1.0))
        in_flight[2].succeeded()
        assert gov.snapshot().keys[KEY].limits == {"requests": 6.0}  # the least seen
        clock.advance(31.0)  # the first five leave the window: three calls sent, counted
        for _ in range(3):
            (await admitted_now(gov)).succeeded()
        held = Waiting(gov)
        await settle()
        assert held.ticket is None
        clock.advance(29.0)  # a guess is kept one minute (a stated limit, ten)
        assert gov.snapshot().keys[KEY].limits == {}

    run(scenario)


def test_learning_can_be_turned_off() -> None:
    async def scenario() -> None:
        gov, _ = governor(learn_limits=False)
        (await admitted_now(gov)).rejected(rejection(delay=1.0, quota_value=5))
        assert gov.snapshot().keys[KEY].limits == {}

    run(scenario)


def test_a_token_quota_is_learned_as_tokens() -> None:
    async def scenario() -> None:
        gov, _ = governor()
        ticket = await admitted_now(gov)
        ticket.rejected(
            rejection(
                delay=1.0,
                quota_id="GenerateContentInputTokensPerModelPerMinute-FreeTier",
                metric="generativelanguage.googleapis.com/generate_content_input_token_count",
                quota_value=250_000,
            )
        )
        assert gov.snapshot().keys[KEY].limits == {"tokens": 250_000.0}

    run(scenario)


# -- fail now ----------------------------------------------------------------------------------


def test_a_delay_beyond_max_wait_fails_that_call_now_and_pauses_the_key() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0)
        first, second = await admitted_now(gov), await admitted_now(gov)
        decision = first.rejected(rejection(delay=3600.0, quota_value=10), max_wait=30.0)
        assert isinstance(decision, Refusal)
        assert decision.kind == "too_long"
        assert decision.delay == 3600.0
        assert decision.quota_id == MINUTE_ID
        assert decision.rejection is not None and decision.rejection.retry_delay == 3600.0
        assert "asked to wait 3600 s" in decision.message
        assert "longer than the 30 s this call may wait" in decision.message
        # the key is paused for the delay: a call that may wait 30 s fails at once...
        with pytest.raises(QuotaRefused) as caught:
            await gov.acquire(KEY, Cost(), max_wait=30.0)
        assert caught.value.refusal.kind == "too_long"
        assert "held for another 3.6e+03 s" in str(caught.value)
        # ...one that may wait longer (or without a limit) waits the pause out
        patient = Waiting(gov, max_wait=None)
        await settle()
        assert patient.ticket is None and patient.error is None
        second.succeeded()
        clock.advance(3600.0)
        await settle()
        assert patient.ticket is not None

    run(scenario)


def test_a_waiter_fails_when_a_later_rejection_pauses_the_key_beyond_its_max_wait() -> None:
    async def scenario() -> None:
        gov, _ = governor(jitter=0.0, max_concurrency=2)
        a, b = await admitted_now(gov), await admitted_now(gov)
        assert a.rejected(rejection(delay=5.0), max_wait=60.0) == Readmit(5.0)
        short, long = Waiting(gov, max_wait=60.0), Waiting(gov, max_wait=None)
        await settle()
        assert short.error is None and long.error is None  # 5 s: both wait
        decision = b.rejected(rejection(delay=600.0), max_wait=None)
        assert decision == Readmit(600.0)
        await settle()
        assert short.error is not None and short.error.refusal.kind == "too_long"
        assert long.error is None and long.ticket is None

    run(scenario)


def test_waiters_fail_when_the_key_is_refused() -> None:
    async def scenario() -> None:
        gov, _ = governor(max_concurrency=1)
        ticket = await admitted_now(gov)
        waiting = [Waiting(gov) for _ in range(3)]
        await settle()
        ticket.rejected(rejection(quota_id=DAY_ID, quota_value=1000))
        await settle()
        assert all(w.error is not None for w in waiting)
        assert gov.snapshot().keys[KEY].refused == 3

    run(scenario)


def test_a_daily_quota_fails_now_naming_the_quota() -> None:
    async def scenario() -> None:
        gov, clock = governor()
        ticket = await admitted_now(gov)
        decision = ticket.rejected(rejection(delay=20.0, quota_id=DAY_ID, quota_value=1000))
        assert isinstance(decision, Refusal)
        assert (decision.kind, decision.quota_id, decision.quota_value) == ("daily", DAY_ID, 1000)
        assert f"per-day quota {DAY_ID} (limit 1000) is exhausted" in decision.message
        with pytest.raises(QuotaRefused) as caught:
            await gov.acquire(KEY, Cost())
        assert caught.value.refusal is decision
        clock.advance(20.0)  # remembered for the server's delay
        await admitted_now(gov)

    run(scenario)


def test_a_refusal_without_a_delay_is_remembered_for_one_quota_minute() -> None:
    async def scenario() -> None:
        gov, clock = governor(minute=60.0)
        ticket = await admitted_now(gov)
        assert isinstance(ticket.rejected(rejection(quota_id=DAY_ID)), Refusal)
        clock.advance(59.0)
        with pytest.raises(QuotaRefused):
            await gov.acquire(KEY, Cost())
        clock.advance(1.0)
        await admitted_now(gov)  # asked again after a minute

    run(scenario)


def test_a_daily_violation_wins_over_a_minute_one() -> None:
    found = Rejection.from_details(
        [
            rpc.QuotaFailure(
                violations=[
                    rpc.QuotaFailureViolation(quota_id=MINUTE_ID),
                    rpc.QuotaFailureViolation(quota_id=DAY_ID),
                ]
            )
        ]
    )

    async def scenario() -> None:
        gov, _ = governor()
        decision = (await admitted_now(gov)).rejected(found)
        assert isinstance(decision, Refusal)
        assert decision.kind == "daily"

    run(scenario)


def test_a_quota_with_limit_zero_cannot_be_waited_out() -> None:
    info = rpc.ErrorInfo(
        reason="RATE_LIMIT_EXCEEDED",
        domain="googleapis.com",
        metadata={
            "quota_limit": "GenerateContentRequestsPerMinutePerProjectPerRegion",
            "quota_metric": "generativelanguage.googleapis.com/generate_content_requests",
            "quota_limit_value": "0",
        },
    )
    found = Rejection.from_details([info])
    assert found.no_quota

    async def scenario() -> None:
        gov, _ = governor()
        decision = (await admitted_now(gov)).rejected(found)
        assert isinstance(decision, Refusal)
        assert decision.kind == "no_quota"
        assert decision.quota_value == 0
        assert "GenerateContentRequestsPerMinutePerProjectPerRegion (limit 0)" in decision.message

    run(scenario)


def test_a_call_bigger_than_the_servers_minute_limit_is_refused() -> None:
    async def scenario() -> None:
        gov, _ = governor()
        ticket = await admitted_now(gov, Cost(1, 150, 0))
        decision = ticket.rejected(
            rejection(
                delay=5.0,
                quota_id="BatchEmbedTextTextsPerMinutePerProjectPerModel",
                quota_value=100,
            )
        )
        assert isinstance(decision, Refusal)
        assert decision.kind == "too_large"

    run(scenario)


# -- bookkeeping, observation ------------------------------------------------------------------


def test_counters_snapshot() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0, max_concurrency=2, learn_limits=False)
        a, b = await admitted_now(gov), await admitted_now(gov)
        held = Waiting(gov)
        await settle()
        key_stats = gov.snapshot().keys[KEY]
        assert (key_stats.sent, key_stats.in_flight, key_stats.waiting) == (2, 2, 1)
        a.rejected(rejection(delay=3.0))
        b.failed()
        snap = gov.snapshot()
        assert snap.throttled
        assert snap.keys[KEY].paused_for == 3.0
        assert snap.keys[KEY].limit == 1.0
        clock.advance(3.0)
        await settle()
        assert held.ticket is not None
        held.ticket.succeeded()
        snap = gov.snapshot()
        stats = snap.keys[KEY]
        assert (stats.sent, stats.succeeded, stats.rejected, stats.failed) == (3, 1, 1, 1)
        assert (stats.in_flight, stats.waiting) == (0, 0)
        assert stats.waited == pytest.approx(3.0)
        assert (snap.sent, snap.rejected) == (3, 1) and snap.waited == pytest.approx(3.0)
        assert not snap.throttled
        assert snap.throttled_for == pytest.approx(3.0)  # the pause, while ``held`` waited

    run(scenario)


def test_quota_stats_totals_add_up_the_keys() -> None:
    def key_stats(method: str, n: int, throttled: bool) -> QuotaKeyStats:
        return QuotaKeyStats(
            key=QuotaKey(method),
            sent=n,
            succeeded=n,
            rejected=2 * n,
            failed=0,
            refused=3 * n,
            waited=0.5 * n,
            waiting=0,
            in_flight=0,
            limit=1.0,
            paused_for=0.0,
            throttled=throttled,
            throttled_for=0.25 * n,
            limits={},
        )

    one, two = key_stats("A", 1, False), key_stats("B", 2, True)
    stats = QuotaStats({one.key: one, two.key: two})
    assert (stats.sent, stats.rejected, stats.refused) == (3, 6, 9)
    assert (stats.waited, stats.throttled_for, stats.throttled) == (1.5, 0.75, True)
    assert not QuotaStats({one.key: one}).throttled
    empty = QuotaStats({})
    assert (empty.sent, empty.waited, empty.throttled_for, empty.throttled) == (0, 0, 0, False)


def test_throttled_for_is_clock_time_not_summed_over_waiters() -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0, learn_limits=False)
        (await admitted_now(gov)).rejected(rejection(delay=3.0))
        waiters = [Waiting(gov), Waiting(gov)]
        await settle()
        clock.advance(1.0)
        assert gov.snapshot().throttled_for == pytest.approx(1.0)  # still going
        clock.advance(2.0)
        await settle()
        for waiter in waiters:
            assert waiter.ticket is not None
            waiter.ticket.succeeded()
        snap = gov.snapshot()
        assert snap.waited == pytest.approx(6.0)  # two calls waited 3 s each
        assert snap.throttled_for == pytest.approx(3.0)  # during 3 s of the clock
        assert not snap.throttled

    run(scenario)


def test_a_ticket_is_slotted_and_equal_only_to_itself() -> None:
    async def scenario() -> None:
        gov, _ = governor(jitter=0.0, learn_limits=False)
        first, second = await admitted_now(gov), await admitted_now(gov)
        assert not hasattr(first, "__dict__")  # one per call: kept small
        assert first != second and first == first
        assert (first.key, first.waited, first.done) == (KEY, 0.0, False)
        first.succeeded()
        second.failed()
        assert first.done and second.done

    run(scenario)


def test_admit_checks_its_arguments() -> None:
    gov, _ = governor()
    with pytest.raises(TypeError, match="QuotaKey"):
        gov.admit("BatchEmbedText")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Cost"):
        gov.admit(KEY, 3)  # type: ignore[arg-type]
    assert gov.admit(("EmbedText", "models/m")) is not None


def test_outcome_is_reported_once_and_admit_reports_failed_by_default() -> None:
    async def scenario() -> None:
        gov, _ = governor()
        async with gov.admit(KEY, Cost()) as ticket:
            ticket.succeeded()
            with pytest.raises(RuntimeError, match="already reported"):
                ticket.failed()
        with pytest.raises(ValueError, match="boom"):
            async with gov.admit(KEY):
                raise ValueError("boom")
        stats = gov.snapshot().keys[KEY]
        assert (stats.succeeded, stats.failed, stats.in_flight) == (1, 1, 0)
        async with gov.admit(KEY) as ticket:
            with pytest.raises(TypeError):
                ticket.rejected("RESOURCE_EXHAUSTED")  # type: ignore[arg-type]

    run(scenario)


def test_throttling_start_and_end_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0)
        ticket = await admitted_now(gov)
        ticket.rejected(rejection(delay=2.0, quota_value=60))
        held = Waiting(gov)
        await settle()
        clock.advance(2.0)
        await settle()
        assert held.ticket is not None
        held.ticket.succeeded()

    with caplog.at_level(logging.INFO, logger="textservice.governor"):
        run(scenario)
    lines = [r.getMessage() for r in caplog.records if r.name == "textservice.governor"]
    assert any(
        "throttling BatchEmbedText models/embedding-gecko-001: RESOURCE_EXHAUSTED for quota "
        f"{MINUTE_ID} (limit 60); holding its calls for 2 s" in line
        for line in lines
    ), lines
    assert any("throttling of BatchEmbedText models/embedding-gecko-001 ended" in s for s in lines)


def test_a_cancelled_waiter_leaves_the_queue() -> None:
    async def scenario() -> None:
        gov, _ = governor(max_concurrency=1)
        ticket = await admitted_now(gov)
        cancelled, behind = Waiting(gov), Waiting(gov)
        await settle()
        cancelled.task.cancel()
        await settle()
        assert gov.snapshot().keys[KEY].waiting == 1
        ticket.succeeded()
        await settle()
        assert behind.ticket is not None

    run(scenario)


def test_a_ticket_handed_to_a_cancelled_waiter_is_given_back() -> None:
    async def scenario() -> None:
        gov, _ = governor(max_concurrency=1)
        ticket = await admitted_now(gov)
        late = Waiting(gov)
        await settle()
        ticket.succeeded()  # grants ``late`` a ticket, delivered on the next loop turn...
        late.task.cancel()  # ...but its task is cancelled first
        await settle()
        stats = gov.snapshot().keys[KEY]
        assert (stats.in_flight, stats.sent) == (0, 1)
        await admitted_now(gov)

    run(scenario)


def test_waiters_on_other_threads_and_loops_are_woken() -> None:
    gov = RateGovernor(GovernorSettings(max_concurrency=1), clock=MonotonicClock())
    holder: list[Ticket] = []
    admitted = threading.Event()
    started = threading.Event()
    errors: list[BaseException] = []

    def other_loop() -> None:
        async def wait_for_slot() -> None:
            task = asyncio.ensure_future(gov.acquire(KEY, Cost()))
            await asyncio.sleep(0)
            started.set()
            (await task).succeeded()
            admitted.set()

        try:
            asyncio.run(wait_for_slot())
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)

    async def hold_then_release() -> None:
        holder.append(await gov.acquire(KEY, Cost()))
        thread = threading.Thread(target=other_loop)
        thread.start()
        assert await asyncio.to_thread(started.wait, 10)
        assert gov.snapshot().keys[KEY].waiting == 1
        assert not admitted.is_set()
        holder[0].succeeded()  # on this loop; the waiter is on the other thread's loop
        assert await asyncio.to_thread(admitted.wait, 10)
        thread.join(10)

    asyncio.run(hold_then_release())
    assert not errors
    assert gov.snapshot().keys[KEY].succeeded == 2


# -- reading the server's details --------------------------------------------------------------


@pytest.mark.parametrize(
    ("quota_id", "metric", "period", "unit"),
    [
        (MINUTE_ID, "", "minute", "requests"),
        ("BatchEmbedContentsRequestsPerMinutePerProjectPerModel", "", "minute", "requests"),
        ("GenerateContentInputTokensPerModelPerMinute-FreeTier", "", "minute", "tokens"),
        ("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "", "day", "requests"),
        ("BatchEmbedTextTextsPerMinutePerProjectPerModel", "", "minute", "texts"),
        ("", "generativelanguage.googleapis.com/embed_requests_per_minute", "minute", None),
        ("", "x/generate_content_input_token_count", None, "tokens"),
        ("SomethingElse", "", None, None),
    ],
)
def test_quota_period_and_unit(quota_id: str, metric: str, period: str, unit: str) -> None:
    found = Rejection.from_details(
        [
            rpc.QuotaFailure(
                violations=[rpc.QuotaFailureViolation(quota_id=quota_id, quota_metric=metric)]
            )
        ]
    )
    (violation,) = found.violations
    assert (violation.period, violation.unit) == (period, unit)


def test_rejection_from_details() -> None:
    found = rejection(delay=1.5, quota_value=60)
    assert found.retry_delay == 1.5
    (violation,) = found.violations
    assert (violation.quota_id, violation.quota_value) == (MINUTE_ID, 60)
    assert found.daily is None
    assert not found.no_quota
    bare = Rejection.from_details([])
    assert (bare.retry_delay, bare.violations) == (None, ())
    assert bare.describe() == "an unnamed quota"
    assert rejection().violations[0].quota_value is None  # 0 on the wire: not said


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_concurrency": 0}, ValueError),
        ({"max_concurrency": 2.0}, TypeError),
        ({"requests_per_minute": 0}, ValueError),
        ({"tokens_per_minute": float("inf")}, ValueError),
        ({"texts_per_minute": "10"}, TypeError),
        ({"share": 0}, ValueError),
        ({"share": 1.5}, ValueError),
        ({"minute": 0}, ValueError),
        ({"decrease": 1.0}, ValueError),
        ({"jitter": True}, TypeError),
        ({"learn_limits": 1}, TypeError),
    ],
)
def test_bad_settings(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        GovernorSettings(**kwargs)  # type: ignore[arg-type]


def test_monotonic_clock_runs_timers_on_the_given_loop() -> None:
    clock = MonotonicClock()
    fired: list[threading.Thread] = []

    async def scenario() -> None:
        done = asyncio.Event()

        def callback() -> None:
            fired.append(threading.current_thread())
            done.set()

        # from another thread, due already: it runs on this loop, at once
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(clock.call_at, clock.now(), callback, loop)
        await asyncio.wait_for(done.wait(), 10)

    asyncio.run(scenario())
    assert fired == [threading.main_thread()]
    closed = asyncio.new_event_loop()
    closed.close()
    with pytest.raises(RuntimeError):
        clock.call_at(clock.now(), lambda: None, closed)


def test_no_quota_met_means_the_configured_limits_as_they_are() -> None:
    # the fast path of every admission: a key that learned nothing reads the configured
    # limits (times share) without building them again; a learned limit takes its place
    async def scenario() -> None:
        gov, clock = governor(jitter=0.0, margin=0.0, tokens_per_minute=100, share=0.5)
        ticket = await admitted_now(gov)
        state = gov._keys[KEY]
        assert gov._limits(state, clock.now()) is gov._configured == {"tokens": 50.0}
        stats = gov.snapshot().keys[KEY]
        assert stats.limits == {"tokens": 50.0} and stats.limits is not gov._configured
        ticket.rejected(rejection(delay=1.0, quota_value=6))  # a requests-per-minute quota
        assert gov._limits(state, clock.now()) == {"tokens": 50.0, "requests": 3.0}
        assert gov._configured == {"tokens": 50.0}  # not changed by what was learned

    run(scenario)
