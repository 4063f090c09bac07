"""serve's inbox is bounded in count and in bytes: the reading thread waits, nothing is dropped."""

from __future__ import annotations

import threading

from kraamwacht.service._inbox import Inbox
from kraamwacht.waiting import wait_for


def test_a_full_inbox_makes_the_producer_wait_until_there_is_room_in_bytes() -> None:
    inbox: Inbox[str] = Inbox(max_messages=100, max_bytes=1000)
    inbox.put("a", 600)
    done = threading.Event()

    def producer() -> None:
        inbox.put("b", 600)  # 1,200 bytes would not fit: waits
        done.set()

    threading.Thread(target=producer, daemon=True).start()
    assert not done.wait(0.5)  # still waiting (a positive control follows: it does get in)
    assert inbox.bytes == 600
    assert inbox.get(timeout=1) == "a"
    wait_for(done.is_set, 30, what="the producer got room")
    assert (inbox.get(timeout=1), inbox.bytes) == ("b", 0)


def test_one_message_larger_than_the_bound_still_passes_an_empty_inbox() -> None:
    inbox: Inbox[str] = Inbox(max_messages=10, max_bytes=100)
    inbox.put("big", 5000)
    assert inbox.get_nowait() == "big"
    assert inbox.get_nowait() is None


def test_the_count_bound_holds_too() -> None:
    inbox: Inbox[int] = Inbox(max_messages=2, max_bytes=10**9)
    inbox.put(1, 1)
    inbox.put(2, 1)
    third = threading.Thread(target=inbox.put, args=(3, 1), daemon=True)
    third.start()
    third.join(0.3)
    assert third.is_alive()  # waits for room
    assert inbox.get_nowait() == 1
    third.join(30)
    assert [inbox.get_nowait(), inbox.get_nowait(), inbox.get_nowait()] == [2, 3, None]


def test_closing_releases_a_producer_waiting_for_room_and_refuses_later_items() -> None:
    """serve stopping with a full inbox: paho's reading thread must not wait forever (loop_stop joins it)."""
    inbox: Inbox[int] = Inbox(max_messages=1, max_bytes=10**9)
    assert inbox.put(1, 1)
    result: list[bool] = []
    waiting = threading.Thread(target=lambda: result.append(inbox.put(2, 1)), daemon=True)
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive()  # full: waits (the control for what follows)
    inbox.close()
    waiting.join(30)
    assert not waiting.is_alive()
    assert result == [False]  # not taken: never acknowledged, so the broker keeps it
    assert inbox.put(3, 1) is False
    assert [inbox.get_nowait(), inbox.get_nowait()] == [1, None]


def test_take_returns_a_batch_in_order_and_frees_its_room() -> None:
    inbox: Inbox[int] = Inbox(max_messages=5, max_bytes=10**9)
    assert inbox.take(3, timeout=0.01) == []  # nothing came
    for i in range(5):
        inbox.put(i, 10)
    waiting = threading.Thread(target=inbox.put, args=(5, 10), daemon=True)
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive()  # full: waits
    assert inbox.take(3) == [0, 1, 2]
    waiting.join(30)
    assert not waiting.is_alive()  # the batch's room was given back
    assert (inbox.take(10), inbox.bytes) == ([3, 4, 5], 0)


def test_a_batch_lingers_for_enough_messages_but_not_past_its_time() -> None:
    inbox: Inbox[int] = Inbox(max_messages=100, max_bytes=10**9)
    inbox.put(0, 1)

    def later() -> None:
        for i in range(1, 4):
            threading.Event().wait(0.05)
            inbox.put(i, 1)

    threading.Thread(target=later, daemon=True).start()
    # three more come within the generous linger: the batch waits for them instead of leaving alone
    assert inbox.take(10, timeout=1, linger_s=60, enough=4) == [0, 1, 2, 3]
    inbox.put(4, 1)
    assert inbox.take(10, timeout=1, linger_s=0.05, enough=4) == [4]  # nobody else comes: it goes alone
    assert inbox.take(10, timeout=0.01, linger_s=60, enough=4) == []  # nothing came: no linger at all


def test_a_full_inbox_or_a_close_ends_the_linger() -> None:
    inbox: Inbox[int] = Inbox(max_messages=2, max_bytes=10**9)
    inbox.put(0, 1)
    inbox.put(1, 1)
    assert inbox.take(10, timeout=1, linger_s=600, enough=5) == [0, 1]  # full: waiting would gain nothing
    inbox.put(2, 1)
    closer = threading.Thread(target=lambda: (threading.Event().wait(0.2), inbox.close()), daemon=True)
    closer.start()
    assert inbox.take(10, timeout=1, linger_s=600, enough=5) == [2]  # serve stopping: it does not wait on
