"""``UnsealingRenderer`` (gitloop.service.unsealing) on the cases of testdata/unsealing.yaml: every
SealedSecret a source renders becomes its Secret, annotated with its origin; one that cannot be unsealed
is a ``SealingError`` naming the object, the field and the reason and quoting no value; other objects
pass untouched and the keys are not even asked for when there is no SealedSecret."""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.errors import ClusterError, SealingError
from gitloop.sealing import SealingKey, generate_key, seal
from gitloop.service.unsealing import SEALED_FROM, UnsealingRenderer

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "unsealing.yaml").read_text(encoding="utf-8")
)
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}}


class Fixed:
    """A renderer whose output is given (the renderer under the wrapper is not what is tested here)."""

    def __init__(self, manifests: list[dict[str, Any]]) -> None:
        self.manifests = manifests

    def render(self, root: Path, source: dict[str, Any], **_: Any) -> list[dict[str, Any]]:
        return copy.deepcopy(self.manifests)


@pytest.fixture(scope="module")
def keys() -> list[SealingKey]:
    """Two keys, newest first; the tests seal with the older one, so both are tried."""
    old = generate_key(bits=2048, name="sealed-secrets-keyold01")
    new = generate_key(bits=2048, name="sealed-secrets-keynew01")
    return [new, old]


def _plaintexts(case: Mapping[str, Any]) -> list[str]:
    return [str(v) for v in case["secret"]["stringData"].values()]


def _sealed(case: Mapping[str, Any], key: SealingKey) -> dict[str, Any]:
    sealed = seal(case["secret"], key.certificate_pem, scope=case["scope"])
    if "sealedNamespace" in case:
        if case["sealedNamespace"]:
            sealed["metadata"]["namespace"] = case["sealedNamespace"]
        else:
            del sealed["metadata"]["namespace"]
    return sealed


def _render(manifests: list[dict[str, Any]], keys: list[SealingKey], namespace: str) -> list[dict[str, Any]]:
    renderer = UnsealingRenderer(Fixed(manifests), lambda: keys)
    return renderer.render(Path("/nowhere"), {"path": "."}, app_name="app", namespace=namespace)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_unsealing_case(case: dict[str, Any], keys: list[SealingKey]) -> None:
    sealed = _sealed(case, keys[1])
    manifests = [CONFIG_MAP, sealed]
    if "error" in case:
        with pytest.raises(SealingError) as caught:
            _render(manifests, keys, case["appNamespace"])
        message = str(caught.value)
        for part in case["error"]:
            assert part in message
        for value in _plaintexts(case):
            assert value not in message
            assert base64.b64encode(value.encode()).decode() not in message
        return
    out = _render(manifests, keys, case["appNamespace"])
    assert out[0] == CONFIG_MAP
    secret = out[1]
    expect = case["expect"]
    assert (secret["apiVersion"], secret["kind"]) == ("v1", "Secret")
    assert secret["metadata"]["name"] == case["secret"]["metadata"]["name"]
    assert secret["metadata"]["namespace"] == expect["namespace"]
    assert secret["metadata"]["annotations"][SEALED_FROM] == f"SealedSecret/{secret['metadata']['name']}"
    for label, value in expect.get("labels", {}).items():
        assert secret["metadata"]["labels"][label] == value
    assert secret["type"] == expect["type"]
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == expect["data"]


def test_other_objects_untouched_and_keys_not_read() -> None:
    def unreadable() -> list[SealingKey]:
        raise AssertionError("the keys are read only for a SealedSecret")

    renderer = UnsealingRenderer(Fixed([CONFIG_MAP]), unreadable)
    assert renderer.render(Path("/nowhere"), {}, app_name="a", namespace="ns") == [CONFIG_MAP]


def test_no_key_can_decrypt(keys: list[SealingKey]) -> None:
    case = CASES[0]
    sealed = _sealed(case, generate_key(bits=2048, name="sealed-secrets-keyelse1"))
    with pytest.raises(SealingError) as caught:
        _render([sealed], keys, "shop")
    message = str(caught.value)
    assert "SealedSecret/shop/db" in message and "spec.encryptedData.password" in message
    assert all(value not in message for value in _plaintexts(case))


def test_unreadable_key_ring_names_the_object(keys: list[SealingKey]) -> None:
    def unreachable() -> list[SealingKey]:
        raise ClusterError("connection refused")

    sealed = _sealed(CASES[0], keys[0])
    renderer = UnsealingRenderer(Fixed([sealed]), unreachable)
    with pytest.raises(SealingError, match=r"SealedSecret/shop/db.*sealing keys cannot be read.*refused"):
        renderer.render(Path("/nowhere"), {}, app_name="a", namespace="shop")
