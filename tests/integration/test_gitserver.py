"""The local git server end to end with the real ``git`` CLI: clone, fetch, a 3 MB push (chunked), the
signed push webhook, basic auth, and the ``gitloop gitserver`` daemon's lifecycle."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import queue
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gitloop.localinfra import processes
from gitloop.localinfra.gitdaemon import ServeOptions, healthy, serve
from gitloop.localinfra.gitserver import BasicAuth, GitServer, Webhook
from gitloop.localinfra.pushevent import signature

pytestmark = pytest.mark.integration

ZERO = "0" * 40


def git(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    """Run git; fail the test if it fails; return its stdout."""
    proc = subprocess.run(
        ["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
    return proc.stdout


def git_fails(env: dict[str, str], *args: str) -> str:
    """Run git expecting it to fail; return its stderr."""
    proc = subprocess.run(["git", *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0, f"git {' '.join(args)} succeeded"
    return proc.stderr


def commit_file(env: dict[str, str], work: Path, name: str, data: bytes, message: str) -> str:
    (work / name).write_bytes(data)
    git(env, "add", name, cwd=work)
    git(env, "commit", "-q", "-m", message, cwd=work)
    return git(env, "rev-parse", "HEAD", cwd=work).strip()


def with_credentials(url: str, user: str, password: str) -> str:
    return url.replace("http://", f"http://{user}:{password}@", 1)


# -- a webhook receiver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes
    path: str = ""


class _Receiver(BaseHTTPRequestHandler):
    server: _ReceiverServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.deliveries.put(Delivery({k.lower(): v for k, v in self.headers.items()}, body, self.path))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = False

    def __init__(self) -> None:
        self.deliveries: queue.Queue[Delivery] = queue.Queue()
        super().__init__(("127.0.0.1", 0), _Receiver)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/push"


@pytest.fixture
def receiver() -> Iterator[_ReceiverServer]:
    srv = _ReceiverServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- clone, push, fetch --------------------------------------------------------------------------------


def test_clone_push_3mb_and_clone_again(
    git_server: GitServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    url = git_server.create_repo("big")
    bare = git_server.repo_path("big")
    assert git(git_env, "--git-dir", str(bare), "symbolic-ref", "HEAD").strip() == "refs/heads/main"

    work = tmp_path / "work"
    git(git_env, "clone", "-q", url, str(work))
    payload = os.urandom(3 * 1024 * 1024)  # incompressible: the push body is over 1 MB, so chunked
    head = commit_file(git_env, work, "blob.bin", payload, "three megabytes")
    git(git_env, "push", "-q", "origin", "main", cwd=work)

    assert git(git_env, "--git-dir", str(bare), "rev-parse", "refs/heads/main").strip() == head
    assert git(git_env, "--git-dir", str(bare), "cat-file", "-s", "main:blob.bin").strip() == str(
        len(payload)
    )

    again = tmp_path / "again"
    git(git_env, "clone", "-q", url, str(again))
    assert (again / "blob.bin").read_bytes() == payload
    assert git(git_env, "rev-parse", "HEAD", cwd=again).strip() == head


def test_fetch_with_long_negotiation(git_server: GitServer, git_env: dict[str, str], tmp_path: Path) -> None:
    # Many local commits make git send a long have-list, which it gzips (Content-Encoding: gzip).
    url = git_server.create_repo("negotiation")
    a, b = tmp_path / "a", tmp_path / "b"
    git(git_env, "clone", "-q", url, str(a))
    commit_file(git_env, a, "f", b"0", "first")
    git(git_env, "push", "-q", "origin", "main", cwd=a)
    git(git_env, "clone", "-q", url, str(b))
    for i in range(120):
        commit_file(git_env, b, "f", f"b{i}".encode(), f"local {i}")
    new = commit_file(git_env, a, "g", b"g", "upstream")
    git(git_env, "push", "-q", "origin", "main", cwd=a)
    git(git_env, "fetch", "-q", "origin", cwd=b)
    assert git(git_env, "rev-parse", "origin/main", cwd=b).strip() == new


def test_repositories_with_owner_and_unknown_paths(git_server: GitServer, git_env: dict[str, str]) -> None:
    url = git_server.create_repo("team/service")
    assert url == f"{git_server.url}/team/service.git"
    assert "refs/heads" not in git(git_env, "ls-remote", url)  # empty, but served

    missing = git_fails(git_env, "ls-remote", f"{git_server.url}/nope.git")
    assert "not found" in missing.lower() or "404" in missing

    conn = http.client.HTTPConnection("127.0.0.1", git_server.port, timeout=10)
    try:
        for path, expected in (("/healthz", 200), ("/../etc/passwd", 404), ("/%2e%2e/etc/passwd", 404)):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert response.status == expected, path
            conn.close()
    finally:
        conn.close()


# -- the push webhook ----------------------------------------------------------------------------------


def test_push_webhook_is_signed_and_github_shaped(
    receiver: _ReceiverServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    secret = "It's a Secret to Everybody"
    with GitServer(tmp_path / "repos", webhook=Webhook(receiver.url, secret), env=git_env) as server:
        url = server.create_repo("hooked")
        work = tmp_path / "work"
        git(git_env, "clone", "-q", url, str(work))
        first = commit_file(git_env, work, "a.txt", b"a\n", "add a")
        second = commit_file(git_env, work, "b.txt", b"b\n", "add b\n\nwith a body")
        git(git_env, "push", "-q", "origin", "main", cwd=work)
        created = receiver.deliveries.get(timeout=30)

        third = commit_file(git_env, work, "a.txt", b"a2\n", "change a")
        git(git_env, "push", "-q", "origin", "main", cwd=work)
        updated = receiver.deliveries.get(timeout=30)

    # Headers, and the HMAC: the right secret verifies, a wrong one does not.
    headers = created.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-github-event"] == "push"
    assert len(headers["x-github-delivery"]) == 36
    assert headers["x-github-delivery"] != updated.headers["x-github-delivery"]
    right = "sha256=" + hmac.new(secret.encode(), created.body, hashlib.sha256).hexdigest()
    wrong = "sha256=" + hmac.new(b"not the secret", created.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-hub-signature-256"], right)
    assert not hmac.compare_digest(headers["x-hub-signature-256"], wrong)

    event = json.loads(created.body)
    assert (event["ref"], event["before"], event["after"]) == ("refs/heads/main", ZERO, second)
    assert event["created"] is True and event["deleted"] is False
    assert event["repository"]["name"] == "hooked"
    assert event["repository"]["full_name"] == "gitloop/hooked"
    assert event["repository"]["clone_url"] == url
    assert [c["id"] for c in event["commits"]] == [first, second]
    assert [c["message"] for c in event["commits"]] == ["add a", "add b\n\nwith a body"]
    head = event["head_commit"]
    assert head["id"] == second
    assert head["author"] == {
        "name": "gitloop tests",
        "email": "tests@gitloop.invalid",
        "username": "gitloop tests",
    }
    assert head["added"] == ["b.txt"]
    assert datetime.fromisoformat(head["timestamp"]).tzinfo is not None
    assert event["pusher"]["name"] == "gitloop"

    event = json.loads(updated.body)
    assert (event["before"], event["after"], event["created"], event["forced"]) == (
        second,
        third,
        False,
        False,
    )
    assert [c["id"] for c in event["commits"]] == [third]
    assert event["head_commit"]["modified"] == ["a.txt"]


def test_a_repository_may_have_a_webhook_url_of_its_own(
    receiver: _ReceiverServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    """As on GitHub, each repository announces its pushes where it was told to (signed with the
    server's secret); the others use the server's URL."""
    secret = "per-repo"
    with GitServer(tmp_path / "repos", webhook=Webhook(receiver.url, secret), env=git_env) as server:
        own, plain = server.create_repo("own"), server.create_repo("plain")
        server.set_repo_webhook("own", receiver.url.replace("/hooks/push", "/hooks/own"))
        for url, name in ((own, "own"), (plain, "plain")):
            work = tmp_path / name
            git(git_env, "clone", "-q", url, str(work))
            commit_file(git_env, work, "a.txt", b"a\n", "add a")
            git(git_env, "push", "-q", "origin", "main", cwd=work)
        first, second = receiver.deliveries.get(timeout=30), receiver.deliveries.get(timeout=30)
        server.set_repo_webhook("own", None)
        commit_file(git_env, tmp_path / "own", "a.txt", b"b\n", "change a")
        git(git_env, "push", "-q", "origin", "main", cwd=tmp_path / "own")
        third = receiver.deliveries.get(timeout=30)
    assert (first.path, json.loads(first.body)["repository"]["name"]) == ("/hooks/own", "own")
    assert (second.path, json.loads(second.body)["repository"]["name"]) == ("/hooks/push", "plain")
    assert first.headers["x-hub-signature-256"] == signature(first.body, secret)
    assert third.path == "/hooks/push"


def test_unreachable_webhook_warns_but_push_succeeds(git_env: dict[str, str], tmp_path: Path) -> None:
    webhook = Webhook(f"http://127.0.0.1:{free_port()}/nobody-listens", "secret-value-xyz")
    with GitServer(tmp_path / "repos", webhook=webhook, env=git_env) as server:
        url = server.create_repo("lonely")
        work = tmp_path / "work"
        git(git_env, "clone", "-q", url, str(work))
        head = commit_file(git_env, work, "x", b"x", "x")
        push = subprocess.run(
            ["git", "push", "origin", "main"],
            cwd=work,
            env=git_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert push.returncode == 0, push.stderr
        assert "gitloop: warning: push webhook" in push.stderr
        assert "secret-value-xyz" not in push.stderr
        assert git(git_env, "--git-dir", str(server.repo_path("lonely")), "rev-parse", "main").strip() == head


# -- basic auth ----------------------------------------------------------------------------------------


def test_basic_auth_rejects_bad_password_and_accepts_the_right_one(
    receiver: _ReceiverServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    auth = BasicAuth("alice", "correct horse")
    with GitServer(tmp_path / "repos", auth=auth, webhook=Webhook(receiver.url), env=git_env) as server:
        url = server.create_repo("private")

        anonymous = git_fails(git_env, "clone", url, str(tmp_path / "anon"))
        assert "Authentication failed" in anonymous or "could not read Username" in anonymous
        bad = git_fails(git_env, "clone", with_credentials(url, "alice", "wrong"), str(tmp_path / "bad"))
        assert "Authentication failed" in bad
        assert not (tmp_path / "bad").exists()

        # The right password through a URL ...
        work = tmp_path / "work"
        git(git_env, "clone", "-q", with_credentials(url, "alice", "correct%20horse"), str(work))
        commit_file(git_env, work, "f", b"f", "f")
        git(git_env, "push", "-q", "origin", "main", cwd=work)
        assert json.loads(receiver.deliveries.get(timeout=30).body)["pusher"]["name"] == "alice"

        # ... and through GIT_ASKPASS.
        askpass = tmp_path / "askpass.sh"
        askpass.write_text('#!/bin/sh\ncase "$1" in Username*) echo alice;; *) echo "correct horse";; esac\n')
        askpass.chmod(stat.S_IRWXU)
        env = {**git_env, "GIT_ASKPASS": str(askpass)}
        git(env, "clone", "-q", url, str(tmp_path / "askpass"))
        assert (tmp_path / "askpass" / "f").read_bytes() == b"f"


# -- the daemon ------------------------------------------------------------------------------------------


def gitloop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitloop", "gitserver", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_daemon_up_twice_is_noop_and_down_leaves_nothing(git_env: dict[str, str], tmp_path: Path) -> None:
    env = {**git_env, "GITLOOP_STATE_DIR": str(tmp_path / "state")}
    password, secret = "pw-9f3a1c", "whsec-77e2b0"
    (tmp_path / "password").write_text(password + "\n")
    (tmp_path / "secret").write_text(secret + "\n")
    options = [
        "--user", "bob", "--password-file", str(tmp_path / "password"),
        "--webhook-url", f"http://127.0.0.1:{free_port()}/", "--webhook-secret-file", str(tmp_path / "secret"),
    ]  # fmt: skip

    first = gitloop(env, "up", *options)
    assert first.returncode == 0, first.stderr
    url = first.stdout.strip()
    assert url.startswith("http://127.0.0.1:")
    state_file = tmp_path / "state" / "gitserver" / "state.json"
    state = json.loads(state_file.read_text())
    proc = processes.Recorded.from_json(state["process"])
    assert processes.alive(proc)

    second = gitloop(env, "up", *options)
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stderr
    assert second.stdout.strip() == url
    assert json.loads(state_file.read_text()) == state, "a second up starts nothing"

    status = gitloop(env, "status")
    assert status.returncode == 0 and url in status.stdout

    created = gitloop(env, "create-repo", "demo/app")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"{url}/demo/app.git"
    work = tmp_path / "work"
    git(git_env, "clone", "-q", with_credentials(created.stdout.strip(), "bob", password), str(work))
    commit_file(git_env, work, "f", b"f", "f")
    push = subprocess.run(
        ["git", "push", "origin", "main"], cwd=work, env=git_env, capture_output=True, text=True, timeout=60
    )
    assert push.returncode == 0 and "gitloop: warning" in push.stderr  # nobody listens on the webhook

    # Secrets stay off the daemon's command line, out of its state and its log.
    cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
    log = (tmp_path / "state" / "gitserver" / "gitserver.log").read_text()
    for text in (cmdline, state_file.read_text(), log):
        assert password not in text and secret not in text

    down = gitloop(env, "down")
    assert down.returncode == 0 and "is down" in down.stdout
    assert not processes.alive(proc)
    assert not state_file.exists()
    log = (tmp_path / "state" / "gitserver" / "gitserver.log").read_text()
    assert "signal 15: stopping" in log and log.rstrip().endswith("stopped"), "SIGTERM stops it gracefully"
    assert gitloop(env, "status").returncode == 1
    assert "was not running" in gitloop(env, "down").stdout


def test_foreground_serve_until_stopped(git_env: dict[str, str], tmp_path: Path) -> None:
    stop = threading.Event()
    port_file = tmp_path / "port"
    seen: list[GitServer] = []
    options = ServeOptions(root=tmp_path / "repos")
    thread = threading.Thread(
        target=serve, args=(options,), kwargs={"port_file": port_file, "ready": seen.append, "stop": stop}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
        server = seen[0]
        base = server.url
        assert int(port_file.read_text()) == server.port
        assert healthy(base)
        url = server.create_repo("fg")
        git(git_env, "clone", "-q", url, str(tmp_path / "clone"))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert not healthy(base, timeout=1)
