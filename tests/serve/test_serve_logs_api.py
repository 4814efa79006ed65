"""The logs endpoint reads the store page by page: JSON answers hold at most ``limit`` lines (the
next page starts ``after`` the last ``seq``), the text format streams the whole log."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gitloop.ports import Store
from gitloop.service.server.runtime import LOG_PAGE


def test_json_logs_come_in_pages_and_text_streams_them_all(client: TestClient, store: Store) -> None:
    store.put("PipelineRun", "long", {"manifest": {"kind": "PipelineRun"}})
    texts = [f"line {i}" for i in range(LOG_PAGE + 5)]
    store.append_log("long", "t/step", texts)
    first = client.get("/api/pipelineruns/long/logs").json()["lines"]
    assert len(first) == LOG_PAGE and first[-1]["seq"] == LOG_PAGE
    rest = client.get(f"/api/pipelineruns/long/logs?after={LOG_PAGE}").json()["lines"]
    assert [line["text"] for line in rest] == texts[LOG_PAGE:]
    small = client.get("/api/pipelineruns/long/logs?after=3&limit=2").json()["lines"]
    assert [line["seq"] for line in small] == [4, 5]
    assert client.get(f"/api/pipelineruns/long/logs?limit={LOG_PAGE + 1}").status_code == 400
    assert client.get("/api/pipelineruns/long/logs?limit=0").status_code == 400
    text = client.get("/api/pipelineruns/long/logs?format=text").text
    assert text.splitlines() == [f"[t/step] {t}" for t in texts]
    assert client.get("/api/pipelineruns/nope/logs?format=text").status_code == 404
