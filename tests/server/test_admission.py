"""Connection caps and the per-client token bucket, driven by an explicit clock."""

from __future__ import annotations

import pytest

from server.admission import ConnectionGate, RateLimiter, client_key


def test_gate_refuses_beyond_the_per_client_cap() -> None:
    gate = ConnectionGate(max_total=10, max_per_client=2)
    assert gate.admit("a") and gate.admit("a")
    assert not gate.admit("a")
    assert gate.admit("b")


def test_gate_refuses_beyond_the_total_cap() -> None:
    gate = ConnectionGate(max_total=2, max_per_client=5)
    assert gate.admit("a") and gate.admit("b")
    assert not gate.admit("c")


def test_gate_release_frees_the_slot() -> None:
    gate = ConnectionGate(max_total=1, max_per_client=1)
    assert gate.admit("a")
    gate.release("a")
    assert gate.total == 0
    assert gate.admit("a")


def test_burst_is_allowed_then_the_next_request_must_wait() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.retry_after("a", 0.0) for _ in range(3)] == [None, None, None]
    assert limiter.retry_after("a", 0.0) == 0.5


def test_tokens_refill_at_the_rate() -> None:
    limiter = RateLimiter(rate=2.0, burst=1)
    assert limiter.retry_after("a", 0.0) is None
    assert limiter.retry_after("a", 0.1) is not None
    assert limiter.retry_after("a", 0.6) is None


def test_clients_have_separate_buckets() -> None:
    limiter = RateLimiter(rate=1.0, burst=1)
    assert limiter.retry_after("a", 0.0) is None
    assert limiter.retry_after("b", 0.0) is None
    assert limiter.retry_after("a", 0.0) is not None


def test_zero_rate_disables_the_limit() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.retry_after("a", 0.0) is None for _ in range(1000))


def test_memory_of_clients_is_bounded() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, max_clients=100)
    for index in range(1000):
        limiter.retry_after(f"client-{index}", float(index))
    assert len(limiter._buckets) <= 100


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("-", "-"),
    ],
)
def test_client_key_groups_ipv6_by_64(address: str, key: str) -> None:
    assert client_key(address) == key


def test_one_ipv6_64_shares_one_bucket() -> None:
    limiter = RateLimiter(rate=1.0, burst=1)
    assert limiter.retry_after("2001:db8::1", 0.0) is None
    assert limiter.retry_after("2001:db8::2", 0.0) is not None


def test_a_fronts_connections_count_against_the_total_only() -> None:
    gate = ConnectionGate(max_total=3, max_per_client=1)
    assert [gate.admit("127.0.0.1", per_client=False) for _ in range(4)] == [
        True, True, True, False
    ]
    gate.release("127.0.0.1", per_client=False)
    assert gate.total == 2


def test_a_reader_behind_a_front_is_held_to_the_per_client_cap() -> None:
    gate = ConnectionGate(max_total=10, max_per_client=2)
    assert [gate.hold("192.0.2.7") for _ in range(3)] == [True, True, False]
    assert gate.hold("192.0.2.8")
    gate.unhold("192.0.2.7")
    assert gate.hold("192.0.2.7")
    assert gate.total == 0
