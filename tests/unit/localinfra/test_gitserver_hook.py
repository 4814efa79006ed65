"""The ``post-receive`` hook's edges: no configuration, bad configuration, undeliverable webhooks."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gitloop.localinfra.pushhook import CONFIG_ENV, DeliveryError, HookConfig, deliver, run


def test_config_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "pushhook.json"
    path.write_text("{}")
    path.chmod(0o644)
    config = HookConfig("http://127.0.0.1:1/", str(tmp_path), "http://127.0.0.1:2", "s3cr3t")
    config.write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert HookConfig.load(path) == config
    assert "s3cr3t" not in repr(config)
    unsigned = HookConfig("http://127.0.0.1:1/", "/r", "http://127.0.0.1:2")
    unsigned.write(path)
    assert HookConfig.load(path).secret is None


def test_without_configuration_the_hook_does_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(f"{'0' * 40} {'a' * 40} refs/heads/main\n", {}) == 0
    assert capsys.readouterr() == ("", "")


def test_bad_configuration_warns_and_succeeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("", {CONFIG_ENV: str(tmp_path / "missing.json")}) == 0
    assert "gitloop: warning: push webhook not configured" in capsys.readouterr().err


def test_undeliverable_webhook_warns_without_the_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    config = tmp_path / "hook.json"
    HookConfig("ftp://127.0.0.1/hook", str(tmp_path), "http://127.0.0.1:2", "top-secret").write(config)
    assert run(f"{'0' * 40} {'a' * 40} refs/heads/main\n", {CONFIG_ENV: str(config)}) == 0
    err = capsys.readouterr().err
    assert "gitloop: warning: push webhook for refs/heads/main" in err
    assert "top-secret" not in err


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "127.0.0.1:80"])
def test_deliver_only_over_http(url: str) -> None:
    with pytest.raises(DeliveryError, match="http or https"):
        deliver(url, b"{}", None)
