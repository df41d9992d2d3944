"""Admission control: caps on open connections and a request rate per client address."""

from __future__ import annotations

import functools
import ipaddress
from collections import Counter
from dataclasses import dataclass

from server.settings.config import LimitSettings

IPV6_CLIENT_PREFIX = 64
"""IPv6 clients are counted per /64: one host usually holds a whole /64."""


@functools.lru_cache(maxsize=4096)
def client_key(address: str) -> str:
    """What per-client limits count: the address, or its /64 network for IPv6 (remembered
    for recent addresses: a client makes a connection per request)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(parsed)


class ConnectionGate:
    """Counts open connections, overall and per client address, against their caps."""

    def __init__(self, max_total: int, max_per_client: int) -> None:
        self.max_total = max_total
        self.max_per_client = max_per_client
        self._open: Counter[str] = Counter()
        self._total = 0

    @property
    def total(self) -> int:
        """Connections currently admitted."""
        return self._total

    def admit(self, client: str, per_client: bool = True) -> bool:
        """Take a slot for `client` if both caps allow it; with `per_client` False (a trusted
        front, whose readers `hold` counts per request), only the total cap applies."""
        key = client_key(client)
        if self._total >= self.max_total or (per_client and self._open[key] >= self.max_per_client):
            return False
        if per_client:
            self._open[key] += 1
        self._total += 1
        return True

    def refusal(self, client: str) -> str:
        """The limit that refuses `client` a slot now: the setting's name."""
        if self._total >= self.max_total:
            return "max_connections"
        return "max_connections_per_ip"

    def release(self, client: str, per_client: bool = True) -> None:
        """Give back the slot taken by `admit`."""
        self._total -= 1
        if per_client:
            self.unhold(client)

    def hold(self, client: str) -> bool:
        """Count one more exchange of `client`, a reader behind a front, if its cap allows."""
        key = client_key(client)
        if self._open[key] >= self.max_per_client:
            return False
        self._open[key] += 1
        return True

    def unhold(self, client: str) -> None:
        """Give back what `hold` counted."""
        key = client_key(client)
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per client address; the clock is passed in, so it is pure."""

    def __init__(self, rate: float, burst: int, max_clients: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(max(burst, 1))
        self.max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}

    def retry_after(self, client: str, now: float) -> float | None:
        """Spend a token for one request; return seconds to wait if none is left, else None."""
        if self.rate <= 0:
            return None
        client = client_key(client)
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._forget_full_buckets(now)
            bucket = self._buckets[client] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate

    def _forget_full_buckets(self, now: float) -> None:
        """Drop clients whose bucket has refilled: they are indistinguishable from new ones."""
        refill = self.burst / self.rate
        self._buckets = {
            client: bucket
            for client, bucket in self._buckets.items()
            if now - bucket.updated < refill
        }
        if len(self._buckets) >= self.max_clients:
            self._buckets.clear()


def admission_for(limits: LimitSettings) -> tuple[ConnectionGate, RateLimiter]:
    """A server's connection gate and request-rate limiter, as `limits` sets them."""
    return (
        ConnectionGate(limits.max_connections, limits.max_connections_per_ip),
        RateLimiter(limits.requests_per_second, limits.request_burst),
    )


def apply_limits(gate: ConnectionGate, rate: RateLimiter, limits: LimitSettings) -> None:
    """Move a running gate and limiter to new limits; open connections and buckets stay."""
    gate.max_total, gate.max_per_client = limits.max_connections, limits.max_connections_per_ip
    rate.rate, rate.burst = limits.requests_per_second, float(max(limits.request_burst, 1))
