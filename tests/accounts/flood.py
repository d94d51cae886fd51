"""A flood of bad sign-ins against a live server while another user works: the proof for
the throttle (tests/accounts/test_flood.py checks it, tests/bench/bench_auth.py times it).

Each bad sign-in comes from an address of its own (X-Forwarded-For, read by daphne's
--proxy-headers as behind the chart's ingress) for a username of its own, so neither the
per-address nor the per-username limit stops it: only the cap on password checks at once
stands between the flood and the other user's requests.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx


@dataclass
class FloodResult:
    bad_login_statuses: Counter[int] = field(default_factory=Counter)
    refusals_without_retry_after: int = 0
    victim_statuses: Counter[int] = field(default_factory=Counter)
    victim_latencies: list[float] = field(default_factory=list)
    flood_seconds: float = 0.0

    def victim_percentile(self, fraction: float) -> float:
        ordered = sorted(self.victim_latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    @property
    def server_errors(self) -> int:
        statuses = self.bad_login_statuses + self.victim_statuses
        return sum(n for status, n in statuses.items() if status >= 500)


async def _victim(url: str, token: str, stop: asyncio.Event, result: FloodResult) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                response = await client.get("/api/todos", headers=headers)
                status = response.status_code
            except httpx.HTTPError:
                status = 599
            result.victim_latencies.append(time.perf_counter() - started)
            result.victim_statuses[status] += 1


async def _bad_login(client: httpx.AsyncClient, n: int, result: FloodResult) -> None:
    address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256 or 1}"
    try:
        response = await client.post(
            "/api/auth/token",
            json={"username": f"nobody-{n}", "password": "not the password"},
            headers={"X-Forwarded-For": address},
        )
    except httpx.HTTPError:
        result.bad_login_statuses[599] += 1
        return
    result.bad_login_statuses[response.status_code] += 1
    if response.status_code == 429 and not response.headers.get("Retry-After"):
        result.refusals_without_retry_after += 1


async def flood(url: str, *, victim_token: str, bad_logins: int = 200) -> FloodResult:
    result = FloodResult()
    stop = asyncio.Event()
    victim = asyncio.create_task(_victim(url, victim_token, stop, result))
    await asyncio.sleep(0.5)  # the victim's steady state first
    limits = httpx.Limits(max_connections=bad_logins, max_keepalive_connections=0)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=180, limits=limits) as client:
        await asyncio.gather(*(_bad_login(client, n, result) for n in range(bad_logins)))
    result.flood_seconds = time.perf_counter() - started
    await asyncio.sleep(0.5)
    stop.set()
    await victim
    return result
