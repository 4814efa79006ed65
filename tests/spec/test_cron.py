"""The cron schedules of sync windows: every case of testdata/cron.yaml (fire times, refusals, zones)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.errors import SpecError
from gitloop.spec.cron import parse_schedule, zone

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "cron.yaml").read_text())


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@pytest.mark.parametrize("case", TABLE["fires"], ids=[c["case"] for c in TABLE["fires"]])
def test_fire_times(case: dict[str, Any]) -> None:
    schedule = parse_schedule(case["schedule"])
    at = _time(case["at"])
    assert at is not None
    where = zone(case.get("zone", ""))
    assert schedule.previous(at, where) == _time(case["previous"])
    assert schedule.following(at, where) == _time(case["following"])


@pytest.mark.parametrize("case", TABLE["errors"], ids=[c["schedule"] for c in TABLE["errors"]])
def test_refused_schedules(case: dict[str, Any]) -> None:
    with pytest.raises(SpecError) as raised:
        parse_schedule(case["schedule"])
    assert case["message"] in str(raised.value)
    assert repr(case["schedule"]) in str(raised.value)


@pytest.mark.parametrize("case", TABLE["zones"], ids=[c["zone"] or "empty" for c in TABLE["zones"]])
def test_zones(case: dict[str, Any]) -> None:
    if case["ok"]:
        assert zone(case["zone"]).key == (case["zone"] or "UTC")
    else:
        with pytest.raises(SpecError, match="unknown time zone"):
            zone(case["zone"])
