"""The CLI's saved logins: one private file, tokens found by server URL, a bad file named, never replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import UsageError
from gitloop.service.logins import config_file, forget_login, save_login, saved_token


def test_a_login_is_kept_privately_and_found_by_its_server(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.json"
    save_login("https://gitloop.example:8443/", "alice", "gitloop_tok1", path=path)
    save_login("http://127.0.0.1:8080", "bob", "gitloop_tok2", path=path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert saved_token("https://gitloop.example:8443", path=path) == "gitloop_tok1"
    assert saved_token("http://127.0.0.1:8080/", path=path) == "gitloop_tok2"
    assert saved_token("http://127.0.0.1:9090", path=path) is None
    assert forget_login("https://gitloop.example:8443", path=path) == "gitloop_tok1"
    assert forget_login("https://gitloop.example:8443", path=path) is None
    assert saved_token("http://127.0.0.1:8080", path=path) == "gitloop_tok2"
    assert not list(path.parent.glob(".config-*")), "no temporary file left"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "not the saved logins"),
        ("[]", "servers: must map"),
        ('{"servers": []}', "servers: must map"),
        ('{"servers": {"http://x": {"token": 3}}}', "servers: must map"),
    ],
)
def test_a_file_that_does_not_validate_is_named_and_kept(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    for call in (
        lambda: saved_token("http://x", path=path),
        lambda: save_login("http://x", "a", "t", path=path),
    ):
        with pytest.raises(UsageError) as caught:
            call()
        assert str(path) in str(caught.value) and reason in str(caught.value)
    assert path.read_text() == content


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GITLOOP_CONFIG_DIR": "/c", "XDG_CONFIG_HOME": "/x"}, "/c/config.json"),
        ({"XDG_CONFIG_HOME": "/x"}, "/x/gitloop/config.json"),
    ],
)
def test_where_the_file_is(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str) -> None:
    for key in ("GITLOOP_CONFIG_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert config_file() == Path(expected)
