"""200 concurrent bad sign-ins against a live daphne (PBKDF2, as in production): no
answer is a 5xx, every refusal says when to retry, and another user's requests all
succeed meanwhile. How long they take is measured by `make bench-auth`, not asserted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.accounts.flood import flood
from tests.live_server import Server, run_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("flood")
    # Production limits, and the proxy headers the chart's web command reads.
    limits = {"RATE_LIMIT_CREDENTIALS": "20/minute", "RATE_LIMIT_SIGNUPS": "5/hour"}
    with run_server(workdir, env_overrides=limits, daphne_args=("--proxy-headers",)) as running:
        yield running


def test_a_flood_of_bad_sign_ins_never_errors_nor_starves_another_user(server: Server) -> None:
    result = asyncio.run(flood(server.url, victim_token=server.token("alice"), bad_logins=200))

    assert result.server_errors == 0, (result.bad_login_statuses, result.victim_statuses)
    assert set(result.bad_login_statuses) <= {401, 429}, result.bad_login_statuses
    assert result.bad_login_statuses[429] > 0, "the cap on password checks refused some"
    assert result.refusals_without_retry_after == 0
    assert set(result.victim_statuses) == {200}, result.victim_statuses
    assert len(result.victim_latencies) >= 5
    print(
        f"\nflood of 200 in {result.flood_seconds:.2f} s: {dict(result.bad_login_statuses)}; "
        f"the other user: {len(result.victim_latencies)} requests, "
        f"p50 {result.victim_percentile(0.5) * 1000:.0f} ms, "
        f"p99 {result.victim_percentile(0.99) * 1000:.0f} ms"
    )
