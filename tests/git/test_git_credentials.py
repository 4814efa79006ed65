"""Repository credentials: matching by URL prefix, the environment given to git, and scrubbing.

The credential helper is exercised with the real ``git credential fill`` (no network involved).
"""

from __future__ import annotations

import base64
import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from gitloop.errors import UsageError
from gitloop.git.command import base_environment, git_executable
from gitloop.git.credentials import (
    PASSWORD_ENV,
    USERNAME_ENV,
    HttpsCredentials,
    RepoCredentials,
    RepoCreds,
    Scrubber,
    SshCredentials,
    credential_scope,
    credentials_from_store,
    git_auth,
)

PASSWORD = "pa55-w0rd/with spaces&symbols"
HTTPS = HttpsCredentials("alice", PASSWORD)


# -- matching ------------------------------------------------------------------------------------------


def _table() -> RepoCredentials:
    return RepoCredentials(
        [
            RepoCreds("https://github.com/org", HttpsCredentials("org", "org-pw")),
            RepoCreds("https://github.com/org/special.git", HttpsCredentials("special", "special-pw")),
            RepoCreds("git@github.com:org", SshCredentials(private_key_file=Path("/keys/org"))),
            RepoCreds("https://gitlab.example.com/", HttpsCredentials("gl", "gl-pw")),
        ]
    )


@pytest.mark.parametrize(
    ("url", "user"),
    [
        ("https://github.com/org/app", "org"),
        ("https://github.com/org/app.git", "org"),
        ("https://GitHub.com/Org/App", "org"),
        ("https://github.com/org/special", "special"),  # the longest prefix wins
        ("https://github.com/org/special.git/", "special"),
        ("https://github.com/org/special-two", "org"),  # a prefix ends at a path segment
        ("https://github.com/organisation/app", None),
        ("https://github.com/other/app", None),
        ("https://gitlab.example.com/team/app", "gl"),
        ("https://gitlab.example.com.evil.com/team/app", None),
        ("http://github.com/org/app", None),  # another scheme is another repository
        ("git@github.com:org/app.git", "ssh"),
        ("ssh://git@github.com/org/app", "ssh"),
        ("git@github.com:other/app.git", None),
    ],
)
def test_lookup_by_longest_prefix(url: str, user: str | None) -> None:
    found = _table().lookup(url)
    if user is None:
        assert found is None
    elif user == "ssh":
        assert isinstance(found, SshCredentials)
    else:
        assert isinstance(found, HttpsCredentials) and found.username == user


def test_replace_swaps_the_table() -> None:
    table = _table()
    table.replace([RepoCreds("https://github.com/other", HTTPS)])
    assert table.lookup("https://github.com/org/app") is None
    assert table.lookup("https://github.com/other/app") == HTTPS
    assert len(table) == 1


def test_secrets_stay_out_of_reprs() -> None:
    ssh = SshCredentials(private_key="-----BEGIN KEY-----\nsecret-key-body\n-----END KEY-----")
    table = RepoCredentials([RepoCreds("https://h/", HTTPS), RepoCreds("git@h:x", ssh)])
    for text in (repr(HTTPS), repr(ssh), repr(table), str(RepoCreds("https://h/", HTTPS))):
        assert PASSWORD not in text and "secret-key-body" not in text


@pytest.mark.parametrize("bad", ["pw\nusername=mallory", "pw\r", "pw\0"])
def test_line_breaks_are_refused(bad: str) -> None:
    with pytest.raises(UsageError):
        HttpsCredentials("alice", bad)
    with pytest.raises(UsageError):
        HttpsCredentials(bad, "pw")


def test_ssh_credentials_need_exactly_one_key() -> None:
    with pytest.raises(UsageError):
        SshCredentials()
    with pytest.raises(UsageError):
        SshCredentials(private_key="k", private_key_file=Path("/k"))


# -- scrubbing -----------------------------------------------------------------------------------------


def test_scrubber_blanks_every_form_of_the_secret() -> None:
    scrub = Scrubber(HTTPS.secrets(), basic=HTTPS)
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    text = (
        f"plain {PASSWORD}; url https://alice:pa55-w0rd%2Fwith%20spaces%26symbols@h/;"
        f" path-ish pa55-w0rd/with%20spaces%26symbols; form pa55-w0rd%2Fwith+spaces%26symbols;"
        f" header Authorization: Basic {basic}"
    )
    scrubbed = scrub(text)
    assert "w0rd" not in scrubbed and basic not in scrubbed
    assert scrubbed.count("***") == 5
    assert "alice" in scrubbed  # a username is not a secret ...


def test_a_token_given_as_username_is_the_secret() -> None:
    token = HttpsCredentials("ghp_abcdef123456", "")
    assert Scrubber(token.secrets())("https://ghp_abcdef123456@host/") == "https://***@host/"


def test_scrubber_without_secrets_changes_nothing() -> None:
    assert Scrubber()("nothing to hide") == "nothing to hide"
    assert Scrubber([""])("nothing to hide") == "nothing to hide"


# -- the environment for git -------------------------------------------------------------------------------


def _config(env: dict[str, str]) -> list[tuple[str, str]]:
    count = int(env["GIT_CONFIG_COUNT"])
    return [(env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"]) for i in range(count)]


def test_https_credentials_reach_git_only_through_the_environment() -> None:
    with git_auth("https://git.example.com:8443/org/app.git", HTTPS) as auth:
        config = _config(auth.env)
    assert config[0] == ("credential.helper", "")  # the user's helpers are never asked, nor told
    key, helper = config[1]
    assert key == "credential.https://git.example.com:8443.helper"
    assert helper.startswith("!")
    assert auth.env[USERNAME_ENV] == "alice" and auth.env[PASSWORD_ENV] == PASSWORD
    holding = [k for k, v in auth.env.items() if PASSWORD in v]
    assert holding == [PASSWORD_ENV]
    assert "GIT_SSH_COMMAND" not in auth.env
    assert auth.scrub(f"x {PASSWORD} y") == "x *** y"


def test_no_credentials_still_resets_the_helpers() -> None:
    with git_auth("https://example.com/app", None) as auth:
        assert _config(auth.env) == [("credential.helper", "")]
        assert USERNAME_ENV not in auth.env and PASSWORD_ENV not in auth.env


def test_https_credentials_are_not_given_to_an_ssh_url() -> None:
    with git_auth("git@example.com:org/app", HTTPS) as auth:
        assert _config(auth.env) == [("credential.helper", "")]
        assert PASSWORD not in "".join(auth.env.values())


@pytest.mark.parametrize(
    ("url", "scope"),
    [
        ("https://example.com/org/app", "https://example.com"),
        ("HTTP://Example.COM:8080/app", "http://example.com:8080"),
        ("https://user@example.com/app", "https://example.com"),
        ("https://[::1]:8443/app", "https://[::1]:8443"),
        ("git@example.com:org/app", None),
        ("https://example.com:99999/app", None),
    ],
)
def test_credential_scope(url: str, scope: str | None) -> None:
    assert credential_scope(url) == scope


def _credential_fill(env: dict[str, str], protocol: str, host: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [git_executable(), "credential", "fill"],
        input=f"protocol={protocol}\nhost={host}\n\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_git_gets_the_credentials_from_the_helper_for_that_host_only(tmp_path: Path) -> None:
    base = base_environment({"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    with git_auth("https://git.example.com:8443/org/app.git", HTTPS) as auth:
        env = {**base, **auth.env}
        given = _credential_fill(env, "https", "git.example.com:8443")
        assert given.returncode == 0, given.stderr
        assert f"username=alice\npassword={PASSWORD}\n" in given.stdout
        # A redirect to another host, port or scheme gets nothing (and git cannot prompt).
        for protocol, host in (
            ("https", "evil.example.com"),
            ("https", "git.example.com"),
            ("http", "git.example.com:8443"),
        ):
            other = _credential_fill(env, protocol, host)
            assert other.returncode != 0
            assert PASSWORD not in other.stdout + other.stderr
            assert "terminal prompts disabled" in other.stderr


# -- SSH -------------------------------------------------------------------------------------------------


def _ssh_argv(env: dict[str, str]) -> list[str]:
    return shlex.split(env["GIT_SSH_COMMAND"])


def test_ssh_key_text_lives_in_a_private_file_only_while_git_runs(tmp_path: Path) -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nbody-of-the-key\n-----END OPENSSH PRIVATE KEY-----"
    known = tmp_path / "state" / "known_hosts"
    with git_auth("git@example.com:org/app", SshCredentials(private_key=key), known_hosts=known) as auth:
        argv = _ssh_argv(auth.env)
        key_file = Path(argv[argv.index("-i") + 1])
        assert key_file.read_text() == key + "\n"  # ssh wants the final newline
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
        assert "body-of-the-key" not in "".join(auth.env.values())
        assert known.parent.is_dir()
        assert auth.scrub(f"leaked {key.strip()}") == "leaked ***"
    assert not key_file.exists() and not key_file.parent.exists()
    assert argv[0] == "ssh"
    for option in ("IdentitiesOnly=yes", "BatchMode=yes", "StrictHostKeyChecking=accept-new"):
        assert option in argv
    assert f"UserKnownHostsFile={known}" in argv


def test_ssh_key_file_and_known_hosts_file_are_used_as_given(tmp_path: Path) -> None:
    key = tmp_path / "my keys" / "id_ed25519"
    known = tmp_path / "my keys" / "known_hosts"
    creds = SshCredentials(private_key_file=key, known_hosts_file=known)
    with git_auth("ssh://git@example.com/app", creds, known_hosts=tmp_path / "ignored") as auth:
        argv = _ssh_argv(auth.env)
    assert argv[argv.index("-i") + 1] == str(key)
    assert "StrictHostKeyChecking=yes" in argv  # listed hosts only
    assert f'UserKnownHostsFile="{known}"' in argv  # quoted for ssh's own option parser
    assert _config(auth.env) == [("credential.helper", "")]


def test_ssh_without_a_known_hosts_file_uses_ssh_defaults() -> None:
    with git_auth("git@example.com:app", SshCredentials(private_key_file=Path("/k"))) as auth:
        argv = _ssh_argv(auth.env)
    assert not any(a.startswith("UserKnownHostsFile") for a in argv)
    assert "StrictHostKeyChecking=accept-new" in argv


STORE = """\
# git credential-store lines, percent-encoded
https://bob:b%40d%20pass@git.example.com
https://carol:team-token@git.example.com/team
http://dave:x@127.0.0.1:8080
not a url
"""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://git.example.com/other/app.git", ("bob", "b@d pass")),
        ("https://git.example.com/team/app-config.git", ("carol", "team-token")),
        ("http://127.0.0.1:8080/app-config.git", ("dave", "x")),
        ("http://127.0.0.1:9090/app-config.git", None),
        ("http://git.example.com/team/app.git", None),
    ],
)
def test_credentials_from_a_store_file(url: str, expected: tuple[str, str] | None) -> None:
    found = credentials_from_store(STORE, url)
    assert (None if found is None else (found.username, found.password)) == expected
