"""The live-state cache on a fake cluster: list + watch, tracked objects only, change notifications, relists."""

from __future__ import annotations

import asyncio
import copy

from cd_fakes import FakeCluster

from gitloop.gitops.live import LiveCache
from gitloop.gitops.tracking import TRACKING_ANNOTATION, parse_tracking_id, prepare, tracked_by, tracking_id
from gitloop.model.resources import Manifest, ResourceKey


def _cm(name: str, app: str | None = None, ns: str = "team") -> Manifest:
    obj: Manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}
    return prepare(obj, app) if app else obj


def test_tracking_ids_round_trip_and_must_name_the_object() -> None:
    key = ResourceKey("apps", "Deployment", "web", "api")
    value = tracking_id("shop", key)
    assert value == "shop:apps/Deployment:web/api"
    assert parse_tracking_id(value) == ("shop", key)
    assert parse_tracking_id(tracking_id("shop", ResourceKey("", "Namespace", "", "web"))) == (
        "shop",
        ResourceKey("", "Namespace", "", "web"),
    )
    assert parse_tracking_id("garbage") is None
    tracked = _cm("a", "shop")
    assert tracked_by(tracked) == "shop"
    copied = copy.deepcopy(tracked)
    copied["metadata"]["name"] = "copy-of-a"
    assert tracked_by(copied) is None, "a copy under another name is not tracked"


def test_prepare_adds_tracking_and_explicit_port_protocols() -> None:
    deployment: Manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}}},
    }
    service: Manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]},
    }
    out = prepare(deployment, "shop")
    assert out["metadata"]["annotations"][TRACKING_ANNOTATION] == "shop:apps/Deployment:shop/web"
    assert out["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] == "TCP"
    assert "protocol" not in deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]
    ports = prepare(service, "shop")["spec"]["ports"]
    assert [p["protocol"] for p in ports] == ["TCP", "UDP"]


def test_cache_lists_watches_and_keeps_only_tracked_objects() -> None:
    async def scenario() -> None:
        cluster = FakeCluster()
        cluster.add_namespace("team")
        await cluster.apply(_cm("a", "shop"))
        await cluster.apply(_cm("untracked"))
        cache = LiveCache(cluster)
        assert await cache.watch_kinds([("v1", "ConfigMap")]) == {}
        assert set(cache.objects("shop")) == {ResourceKey("", "ConfigMap", "team", "a")}
        assert cache.get(ResourceKey("", "ConfigMap", "team", "untracked")) is None

        seen: list[tuple[str, ResourceKey]] = []
        cache.subscribe(lambda app, key: seen.append((app, key)))
        before = cache.version("shop")
        await cluster.apply({**_cm("b", "shop"), "data": {"x": "1"}})
        assert await cache.wait_change("shop", before, timeout=2)
        assert ResourceKey("", "ConfigMap", "team", "b") in cache.objects("shop")
        assert seen == [("shop", ResourceKey("", "ConfigMap", "team", "b"))]

        # Another tool removes the annotation: the object is no longer the app's.
        stolen = copy.deepcopy(cluster.find("ConfigMap", "b", "team"))
        assert stolen is not None
        del stolen["metadata"]["annotations"]
        cluster.update(stolen)
        await asyncio.sleep(0.05)
        assert ResourceKey("", "ConfigMap", "team", "b") not in cache.objects("shop")

        await cluster.delete("v1", "ConfigMap", "a", "team")
        await asyncio.sleep(0.05)
        assert cache.objects("shop") == {}
        assert not await cache.wait_change("other", cache.version("other"), timeout=0.05)
        await cache.close()

    asyncio.run(scenario())


def test_gone_watch_lists_again_and_drops_what_vanished() -> None:
    async def scenario() -> None:
        cluster = FakeCluster()
        cluster.add_namespace("team")
        await cluster.apply(_cm("a", "shop"))
        cluster.expire_next_watch = True
        cache = LiveCache(cluster, resync=0.2)
        await cache.watch_kinds([("v1", "ConfigMap")])
        assert len(cache) == 1
        # Changed behind the watch's back (no event): the periodic resync's relist repairs the cache.
        del cluster.objects[("", "ConfigMap", "team", "a")]
        await asyncio.sleep(0.4)
        assert len(cache) == 0
        await cache.close()

    asyncio.run(scenario())


def test_unserved_kind_is_reported_and_retried_later() -> None:
    async def scenario() -> None:
        cluster = FakeCluster()
        cache = LiveCache(cluster)
        problems = await cache.watch_kinds([("example.com/v1", "Widget")])
        assert "does not serve Widget" in problems[("example.com", "Widget")]
        assert not cache.watching("example.com", "Widget")
        await cache.close()

    asyncio.run(scenario())
