"""Integration fixtures: an isolated git environment and a real local git server for the session.

``git_env`` is the environment every ``git`` command of the tests runs with: its own HOME and global
config (user name and email, ``main`` as default branch), no system config, and no prompts.
``git_server`` serves bare repositories from a temporary directory over HTTP on 127.0.0.1. ``ui_browser``
is the web UI's headless chromium (``ui_support``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from ui_support import ui_browser  # noqa: F401  (the web UI's browser-test fixture)

from gitloop.localinfra.gitserver import GitServer


@pytest.fixture(scope="session")
def git_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for git commands in tests: isolated config, never prompts."""
    home = tmp_path_factory.mktemp("git-home")
    config = home / ".gitconfig"
    config.write_text(
        "[user]\n\tname = gitloop tests\n\temail = tests@gitloop.invalid\n"
        "[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_GLOBAL=str(config),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="/bin/false",
        SSH_ASKPASS="/bin/false",
    )
    return env


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory, git_env: dict[str, str]) -> Iterator[GitServer]:
    """A running local git server (no auth, no webhook) on a free port of 127.0.0.1."""
    server = GitServer(tmp_path_factory.mktemp("git-server") / "repos", env=git_env)
    server.start()
    try:
        yield server
    finally:
        server.stop()
