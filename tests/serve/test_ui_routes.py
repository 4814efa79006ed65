"""The web UI's routes and its API addition: static files with their types and security headers and
never a file outside the assets; every ``/ui/...`` path answers the one page (deep links); ``/`` goes to
the Applications list; ``/api/v1/applications-summary`` counts what a list's filters select over every
page."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from gitloop.api.ui import CSP, asset
from gitloop.api.v1_app_summary import summary
from gitloop.ui import ASSETS


def test_assets_are_served_with_their_type_and_the_security_headers(client: TestClient) -> None:
    for path, kind in (("js/app.js", "text/javascript"), ("css/gitloop.css", "text/css")):
        answer = client.get(f"/ui/assets/{path}")
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith(kind)
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert client.get("/ui/assets/js/nothing-here.js").status_code == 404
    assert client.get("/ui/assets/js").status_code == 404  # a directory


def test_no_file_outside_the_assets_is_served(client: TestClient, tmp_path: Path) -> None:
    for escape in ("%2e%2e/__init__.py", "..%2f..%2fapi%2fui.py", "%2e%2e/%2e%2e/api/ui.py", "/etc/passwd"):
        assert client.get(f"/ui/assets/{escape}").status_code == 404, escape
    (tmp_path / "assets").mkdir()
    (tmp_path / "secret.js").write_text("x")
    (tmp_path / "assets" / "notes.txt").write_text("x")
    assert asset(tmp_path / "assets", "../secret.js") is None
    assert asset(tmp_path / "assets", "notes.txt") is None  # not a type the UI serves
    assert asset(ASSETS, "index.html") == (ASSETS / "index.html").resolve()


def test_every_ui_path_is_the_page_and_the_root_goes_to_the_applications(client: TestClient) -> None:
    for path in ("/ui/applications", "/ui/applications/web-dev?tab=diff", "/ui/changes/abc123", "/ui/login"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert '<script type="module" src="/ui/assets/js/app.js">' in answer.text
        assert answer.headers["content-security-policy"] == CSP
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 302 and home.headers["location"] == "/ui/applications"


def test_the_summary_counts_every_page_of_a_filtered_list(client: TestClient) -> None:
    every = client.get("/api/v1/applications-summary").json()
    assert every["total"] == 4
    assert sum(every["health"].values()) == sum(every["sync"].values()) == 4
    assert (
        client.get("/api/v1/applications-summary", params={"search": "pro", "limit": "1"}).json()["total"]
        == 1
    )
    refused = client.get("/api/v1/applications-summary", params={"health": "Sleepy"})
    assert refused.status_code == 400 and "health" in refused.json()["message"]


def _app(name: str, project: str, health: str, sync: str, namespace: str) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {"project": project, "destination": {"name": "in-cluster", "namespace": namespace}},
        "status": {"health": {"status": health}, "sync": {"status": sync}},
    }


def test_summary_counts_the_selected_and_offers_the_choices_of_every_application() -> None:
    a = _app("a", "team-a", "Healthy", "Synced", "web")
    b = _app("b", "team-b", "Degraded", "OutOfSync", "db")
    c = _app("c", "team-a", "Healthy", "OutOfSync", "web")
    found = summary([a, c], [a, b, c, {"metadata": {"name": "bare"}}])
    assert found == {
        "total": 2,
        "health": {"Healthy": 2},
        "sync": {"Synced": 1, "OutOfSync": 1},
        "projects": ["default", "team-a", "team-b"],
        "clusters": ["in-cluster"],
        "namespaces": ["db", "web"],
    }
