"""A URL password the API shows masked and a client sends back unchanged (GET, change, PUT: what
``gitloop app set`` does) keeps its stored value; a mask that is not the stored password is refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from test_cd_reconciler import URL, World, app_yaml, deployment

from gitloop.errors import UsageError
from gitloop.lineage import Lineage
from gitloop.service.server.cd import AppsRefresher
from gitloop.spec.argocd import parse_apps_text
from gitloop.spec.redact import MASK, has_masked_password, keep_masked

SECRET_URL = URL.replace("https://", "https://deploy:s3cret@")

MASKED_URL = SECRET_URL.replace("s3cret", MASK)
OTHER_URL = f"https://deploy:{MASK}@elsewhere.example/a.git"

# given, stored → kept
CASES = {
    "masked-sent-back": (MASKED_URL, SECRET_URL, SECRET_URL),
    "new-password": (
        SECRET_URL.replace("s3cret", "other"),
        SECRET_URL,
        SECRET_URL.replace("s3cret", "other"),
    ),
    "mask-of-another-url": (OTHER_URL, SECRET_URL, OTHER_URL),
    "no-password": (URL, SECRET_URL, URL),
    "nothing-stored": (MASKED_URL, None, MASKED_URL),
}


@pytest.mark.parametrize(("given", "stored", "kept"), list(CASES.values()), ids=list(CASES))
def test_keep_masked(given: str, stored: str | None, kept: str) -> None:
    spec = {"sources": [{"repoURL": given, "path": "app"}], "project": "default"}
    known = None if stored is None else {"sources": [{"repoURL": stored, "path": "app"}]}
    assert keep_masked(spec, known)["sources"][0]["repoURL"] == kept
    assert has_masked_password(keep_masked(spec, known)) is (MASK in kept)


def test_put_of_a_masked_spec_keeps_the_password(tmp_path: Path) -> None:
    world = World(tmp_path, app_yaml().replace(URL, SECRET_URL), {"app/web.yaml": deployment("web")})
    refresher = AppsRefresher(world.engine, Lineage(world.store))

    async def scenario() -> None:
        shown = await refresher.application("guestbook")
        assert shown["spec"]["source"]["repoURL"] == MASKED_URL
        shown["spec"]["source"]["targetRevision"] = "v2"
        [edited] = parse_apps_text(_yaml(shown)).apps.values()
        await refresher.update("guestbook", edited)
        kept = world.engine.app("guestbook")
        assert kept.source.repo_url == SECRET_URL and kept.source.target_revision == "v2"
        shown["spec"]["source"]["repoURL"] = OTHER_URL
        [forged] = parse_apps_text(_yaml(shown)).apps.values()
        with pytest.raises(UsageError, match="masked password"):
            await refresher.update("guestbook", forged)

    asyncio.run(scenario())


def _yaml(doc: dict[str, object]) -> str:
    return json.dumps({k: doc[k] for k in ("apiVersion", "kind", "metadata", "spec")})


def test_an_application_the_store_would_keep_holds_no_url_password(tmp_path: Path) -> None:
    world = World(tmp_path, app_yaml(), {"app/web.yaml": deployment("web")})
    refresher = AppsRefresher(world.engine, Lineage(world.store))
    [secret] = parse_apps_text(app_yaml("other").replace(URL, SECRET_URL)).apps.values()
    [plain] = parse_apps_text(app_yaml("other")).apps.values()

    async def scenario() -> None:
        with pytest.raises(UsageError, match="repositories:"):
            await refresher.create(secret, upsert=False)
        assert "other" not in world.engine.apps.apps
        await refresher.create(plain, upsert=False)  # an API-owned Application: kept in the store
        with pytest.raises(UsageError, match="repositories:"):
            await refresher.update("other", secret)
        assert "s3cret" not in json.dumps([r.doc for r in world.store.query("ApplicationSpec")])

    asyncio.run(scenario())


def test_no_cd_record_holds_a_url_password_and_a_rollback_still_fetches_with_it(tmp_path: Path) -> None:
    """An Application read from a file may carry a password in its repoURL (Argo CD's users do that);
    the operation, status and history records keep that URL masked, and a rollback (which syncs the
    recorded sources again) still reaches git with the real password."""
    policy = "syncPolicy:\n  automated: {prune: true}\n"
    world = World(
        tmp_path, app_yaml(policy=policy).replace(URL, SECRET_URL), {"app/cm.yaml": deployment("web", 1)}
    )
    asked: list[str] = []
    sources = world.engine.sources
    fetch_repo = sources._repo_for  # the FakeRepo getter the World gave the engine

    def repo_for(url: str) -> object:
        asked.append(url)
        return fetch_repo(url)

    sources._repo_for = repo_for
    rec = world.reconciler

    async def settle() -> None:
        await rec.refresh("guestbook", hard=True)
        while rec.running:
            await asyncio.gather(*rec.running.values())

    async def scenario() -> None:
        await settle()
        world.repo.commit({"app/cm.yaml": deployment("web", 2)})
        await settle()
        operation = await world.engine.rollback("guestbook", None, disable_auto_sync=True)
        assert operation.phase.value == "Succeeded", operation.summary().message
        assert world.live("Deployment", "web")["spec"]["replicas"] == 1  # type: ignore[index]

    asyncio.run(scenario())
    assert asked and all(MASK not in url for url in asked), asked
    stored = repr((world.store._records, world.store._history))  # every record of the in-memory store
    assert "deploy:" in stored and "s3cret" not in stored
