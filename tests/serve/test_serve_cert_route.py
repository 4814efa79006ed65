"""``GET /v1/cert.pem``: the newest Sealed Secrets certificate, open as the controller serves it (also
when the API needs a token), made on first request by the key ring; 404 when the server has none."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gitloop.api.app import create_app
from gitloop.sealing import KeyDirectory
from gitloop.service.server import Server


@pytest.mark.parametrize("token", [None, b"s3cret-token"], ids=["open server", "token required"])
def test_the_certificate_is_served_without_a_token(
    server: Server, tmp_path: Path, token: bytes | None
) -> None:
    ring = KeyDirectory(tmp_path / "keys")
    closed = {"access_control": None} if token is not None else {}  # the config's defaults with the token
    served = dataclasses.replace(
        server, api_token=token, sealing_key=lambda: ring.ensure(bits=2048), **closed
    )
    with TestClient(create_app(served), raise_server_exceptions=False) as client:
        first = client.get("/v1/cert.pem")
        assert first.status_code == 200, first.text
        assert first.content.startswith(b"-----BEGIN CERTIFICATE-----")
        (key,) = ring.keys()
        assert first.content == key.certificate_pem
        assert b"PRIVATE" not in first.content
        assert client.get("/v1/cert.pem").content == first.content, "made once, then the same"
        newer = ring.rotate(bits=2048)
        assert client.get("/v1/cert.pem").content == newer.certificate_pem, "the newest"
        if token is not None:
            assert client.get("/api/status").status_code == 401, "the rest of the API still needs it"


def test_no_key_ring_is_404(client: TestClient) -> None:
    answer = client.get("/v1/cert.pem")
    assert answer.status_code == 404
    assert "Sealed Secrets" in answer.json()["message"]
