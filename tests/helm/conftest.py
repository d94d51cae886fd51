from __future__ import annotations

import pytest

from tests.conftest import skip_or_fail
from tests.helm import chart


@pytest.fixture(autouse=True, scope="session")
def chart_tools() -> None:
    """The pinned helm and schemas of helm/tools.env (make chart-tools); under CI=true a
    missing tool fails the tests instead of skipping them."""
    missing = chart.missing_tools()
    if missing:
        skip_or_fail("chart tools missing: " + "; ".join(missing) + " (make chart-tools)")


@pytest.fixture(params=chart.scenario_names())
def rendered(request: pytest.FixtureRequest) -> chart.Rendered:
    return chart.render(request.param)
