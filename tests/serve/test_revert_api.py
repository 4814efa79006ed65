"""``PUT /api/v1/applications/{name}/rollback`` with gitloop's ``"revert": true``: the fields of a
history rollback are refused beside it, and a rollback without either names what is missing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

PATH = "/api/v1/applications/dev/rollback"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"revert": True, "id": 3}, "revert: id, prune and dryRun do not apply to a revert rollback"),
        ({"revert": True, "prune": True}, "revert: id, prune and dryRun do not apply to a revert rollback"),
        ({"revert": True, "dryRun": True}, "revert: id, prune and dryRun do not apply to a revert rollback"),
        ({}, "id: the history id to roll back to is required (or revert: true)"),
        ({"revert": False, "prune": True}, "id: the history id to roll back to is required"),
    ],
)
def test_refused_bodies(client: TestClient, body: dict[str, Any], message: str) -> None:
    answer = client.put(PATH, json=body)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["message"] and answer.json()["code"] == 3


def test_a_history_rollback_still_takes_its_id(client: TestClient) -> None:
    assert client.put(PATH, json={"id": 3}).status_code == 200
