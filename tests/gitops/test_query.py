"""Application list queries: every case of testdata/query.yaml (filters, selectors, pages, refusals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.gitops.query import AppQuery, QueryError, decode_continue, encode_continue, page
from gitloop.gitops.status import AppStatus
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.selectors import parse_selector
from gitloop.model.sync import SyncStatus
from gitloop.spec.argocd import Application, ApplicationSource, Destination
from gitloop.spec.argocd.source import source_from_raw

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "query.yaml").read_text())


def _entry(row: dict[str, Any]) -> tuple[Application, AppStatus]:
    source: ApplicationSource = source_from_raw(
        {"repoURL": row["repo"], "path": ".", "targetRevision": "main"}
    )
    app = Application(
        name=row["name"],
        sources=(source,),
        destination=Destination(row.get("server", ""), row.get("cluster", ""), row["namespace"]),
        project=row["project"],
        labels=row["labels"],
    )
    status = AppStatus(
        row["name"], sync_status=SyncStatus(row["sync"]), health=HealthResult(HealthStatus(row["health"]))
    )
    return app, status


ENTRIES = {row["name"]: _entry(row) for row in TABLE["apps"]}
NAMES = sorted(ENTRIES)


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["case"] for c in TABLE["cases"]])
def test_query(case: dict[str, Any]) -> None:
    params = {k: list(v) for k, v in case["params"].items()}
    if "continue" in params and case.get("error") != "continue":
        params["continue"] = [encode_continue(v) for v in params["continue"]]
    if "error" in case:
        with pytest.raises(QueryError) as raised:
            AppQuery.parse(params)
        assert raised.value.parameter == case["error"]
        assert str(raised.value).startswith(f"{case['error']}: ")
        return
    found = page(NAMES, AppQuery.parse(params), ENTRIES.get)
    assert list(found.names) == case["names"]
    if "continue" in case:
        assert decode_continue(found.continue_token) == case["continue"]
    else:
        assert found.continue_token == ""


def test_a_page_skips_applications_gone_meanwhile() -> None:
    found = page([*NAMES, "zz-gone"], AppQuery.parse({}), ENTRIES.get)
    assert list(found.names) == NAMES


def test_selector_terms_keep_parentheses_together() -> None:
    terms = parse_selector("a in (x, y),b,!c")
    assert [(t.key, t.operator.value, sorted(t.values)) for t in terms] == [
        ("a", "in", ["x", "y"]),
        ("b", "exists", []),
        ("c", "!", []),
    ]
