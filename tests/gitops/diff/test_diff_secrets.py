"""Secrets: ``stringData`` merged into ``data``, and values masked in everything shown."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gitloop.gitops.diff import REPLACEMENT, colorize, compare, mask_secrets, normalize, unified_diff
from gitloop.gitops.diff.compare import CompareOptions

PASSWORD = "s3cr3t-p@ss"
NEW_PASSWORD = "n3w-s3cr3t"
TOKEN = "tok-4f9a"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(
    data: dict[str, Any] | None = None, string_data: dict[str, Any] | None = None, **meta: Any
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop", **meta},
    }
    if data is not None:
        obj["data"] = data
    if string_data is not None:
        obj["stringData"] = string_data
    return obj


@pytest.mark.parametrize(
    ("given", "data"),
    [
        (secret(string_data={"password": PASSWORD}), {"password": b64(PASSWORD)}),
        (secret({"user": b64("u")}, {"password": PASSWORD}), {"user": b64("u"), "password": b64(PASSWORD)}),
        (secret({"password": b64("old")}, {"password": PASSWORD}), {"password": b64(PASSWORD)}),
        (secret({"empty": None}), {"empty": ""}),
        (secret(string_data={"empty": None}), {"empty": ""}),
        (secret(string_data={"number": 3}), {"number": 3}),
        (secret(string_data={}), {}),
        (secret({"unicode": None}, {"unicode": "żółw"}), {"unicode": b64("żółw")}),
    ],
)
def test_string_data_is_merged_into_data(given: dict[str, Any], data: dict[str, Any]) -> None:
    out = normalize(given)
    assert "stringData" not in out
    assert out["data"] == data


def test_string_data_of_other_kinds_is_left_alone() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Secret", "stringData": {"a": "b"}}
    assert normalize(obj) == obj


def test_masking_keeps_equal_values_equal_and_different_values_different() -> None:
    desired = secret({"password": b64(NEW_PASSWORD), "user": b64("u"), "only-desired": b64("x")})
    live = secret({"password": b64(PASSWORD), "user": b64("u"), "only-live": b64("y")})
    predicted = secret({"password": b64(NEW_PASSWORD), "user": b64("u")})
    masked_desired, masked_live, masked_predicted = mask_secrets([desired, live, predicted])
    assert masked_desired is not None and masked_live is not None and masked_predicted is not None
    assert masked_desired["data"] == {"password": "++++++++", "user": "++++++++", "only-desired": "++++++++"}
    assert masked_live["data"] == {"password": "++++++++++++", "user": "++++++++", "only-live": "++++++++"}
    assert masked_predicted["data"] == {"password": "++++++++", "user": "++++++++"}
    assert live["data"]["password"] == b64(PASSWORD)  # the inputs are not changed


def test_masking_hides_string_data_chosen_annotations_and_last_applied() -> None:
    obj = secret(
        None,
        {"token": TOKEN},
        annotations={
            "vault.example/token": TOKEN,
            "team": "payments",
            "kubectl.kubernetes.io/last-applied-configuration": f'{{"stringData":{{"token":"{TOKEN}"}}}}',
        },
    )
    [masked] = mask_secrets([obj], hide_annotations={"vault.example/token"})
    assert masked is not None
    assert masked["stringData"] == {"token": REPLACEMENT}
    assert masked["metadata"]["annotations"] == {
        "vault.example/token": REPLACEMENT,
        "team": "payments",
        "kubectl.kubernetes.io/last-applied-configuration": REPLACEMENT,
    }


def test_other_kinds_are_not_masked() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "visible"}}
    assert mask_secrets([config_map, None]) == [config_map, None]


@pytest.mark.parametrize(
    ("desired", "live"),
    [
        (
            secret(string_data={"password": NEW_PASSWORD, "token": TOKEN}),
            secret({"password": b64(PASSWORD), "token": b64(TOKEN)}),
        ),
        (secret(string_data={"password": NEW_PASSWORD}), None),
        (None, secret({"password": b64(PASSWORD)})),
        (
            secret({"password": b64(NEW_PASSWORD)}),
            secret(
                {"password": b64(PASSWORD)},
                annotations={
                    "kubectl.kubernetes.io/last-applied-configuration": f'{{"data":{{"password":"{b64(PASSWORD)}"}},'
                    f'"stringData":{{"token":"{TOKEN}"}}}}'
                },
            ),
        ),
    ],
)
def test_no_secret_value_reaches_the_rendered_diff(
    desired: dict[str, Any] | None, live: dict[str, Any] | None
) -> None:
    result = compare(desired, live, options=CompareOptions(hide_annotations=frozenset({"x"})))
    text = unified_diff(result)
    assert text
    shown = text + colorize(text) + repr(result)
    for value in (PASSWORD, NEW_PASSWORD, TOKEN):
        assert value not in shown
        assert b64(value) not in shown
    assert REPLACEMENT in text


def test_changed_secret_is_out_of_sync_and_unchanged_is_synced() -> None:
    live = secret({"password": b64(PASSWORD)})
    assert compare(secret(string_data={"password": NEW_PASSWORD}), live).modified
    assert not compare(secret(string_data={"password": PASSWORD}), live).modified
