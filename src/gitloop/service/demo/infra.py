"""The demo's infrastructure and files: the local cluster, its own git server with app-source and
app-config, and the ``gitloop serve`` configuration that joins them.

Everything lives under ``<state dir>/demo/``: ``gitserver/`` (the demo's git server daemon and its
repositories, kept between runs), ``serve.yaml`` with ``ci/``, ``apps/`` and ``secrets/`` (written
anew each run), ``builds/`` (the image build records), ``serve.log`` and ``admin-password`` (0600: the
password of the account ``admin``, generated once, for ``gitloop login``). The git server announces
app-source's pushes to the EventListener ``/hooks/app-source`` and app-config's to the refresh webhook
``/api/webhook`` of the demo's ``gitloop serve`` (each repository has its own webhook URL), signed
with a secret generated once and kept in ``secrets/``. Before serve starts, ``provision_access`` puts
``admin`` in the store and issues the demo's own API token (the previous run's is revoked).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitloop.access.accounts import Accounts
from gitloop.access.audit import AuditLog
from gitloop.access.passwords import generate_password
from gitloop.access.tokens import Tokens
from gitloop.errors import InfraError
from gitloop.localinfra import gitseed
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitdaemon import DaemonState, GitServerDaemon, ServeOptions
from gitloop.localinfra.gitrepos import git_executable
from gitloop.localinfra.paths import state_dir
from gitloop.service.demo import files

SOURCE_REPO = "app-source"
CONFIG_REPO = "app-config"
LISTENER = "app-source"
IMAGE_NAME = "localhost/gitloop-demo/web"
ENVIRONMENTS = ("dev", "staging", "prod")
ADMIN = "admin"
DEMO_CLIENT = "gitloop demo"
"""The description of the demo's own API token."""
_MESSAGE = re.compile(r'^MESSAGE = "(?P<text>[^"\n]*)"$', re.MULTILINE)


def app_name(environment: str) -> str:
    return f"web-{environment}"


@dataclass(frozen=True)
class DemoDirs:
    """Where the demo keeps its things."""

    root: Path

    @classmethod
    def default(cls) -> DemoDirs:
        return cls(state_dir() / "demo")

    @property
    def serve_config(self) -> Path:
        return self.root / "serve.yaml"

    @property
    def serve_log(self) -> Path:
        return self.root / "serve.log"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def builds(self) -> Path:
        return self.root / "builds"

    @property
    def webhook_secret(self) -> Path:
        return self.secrets / "webhook-secret"

    @property
    def admin_password(self) -> Path:
        return self.root / "admin-password"

    @property
    def database(self) -> Path:
        """The store ``gitloop serve`` uses: the default one, so ``gitloop trace`` needs no flag."""
        return state_dir() / "gitloop.db"


@dataclass(frozen=True)
class Repos:
    """The clone URLs of the demo's repositories."""

    source: str
    config: str


def start_cluster(name: str, nodes: int, timeout: float) -> tuple[LocalCluster, bool]:
    """The local cluster ``name``, up with ``nodes`` Ready hollow nodes (a no-op when it runs), and
    whether it was started now."""
    cluster = LocalCluster(name)
    _, started = cluster.up(nodes, timeout=timeout)
    return cluster, started


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def webhook_secret(dirs: DemoDirs) -> str:
    """The secret that signs the git server's webhooks: made once, kept in ``secrets/`` (mode 0600)."""
    _private_dir(dirs.secrets)
    if not dirs.webhook_secret.exists():
        _write_private(dirs.webhook_secret, secrets.token_urlsafe(32) + "\n")
    return dirs.webhook_secret.read_text(encoding="utf-8").strip()


def git_daemon(dirs: DemoDirs) -> GitServerDaemon:
    """The demo's own git server (``<state dir>/demo/gitserver``), apart from ``gitloop gitserver``."""
    return GitServerDaemon(dirs.root)


def start_git_server(dirs: DemoDirs, serve_url: str) -> tuple[GitServerDaemon, DaemonState]:
    """(Re)start the demo's git server, announcing pushes to the ``gitloop serve`` at ``serve_url``."""
    webhook_secret(dirs)
    daemon = git_daemon(dirs)
    daemon.down()  # its webhook URL names the previous run's port
    options = ServeOptions(
        root=daemon.default_root(),
        webhook_url=f"{serve_url}/api/webhook",
        webhook_secret_file=dirs.webhook_secret,
    )
    info, _ = daemon.up(options)
    return daemon, info


def _head(url: str) -> str | None:
    """The commit ``main`` of ``url`` points at, or ``None`` for an empty repository."""
    proc = subprocess.run(
        [git_executable(), "ls-remote", url, "refs/heads/main"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    if proc.returncode != 0:
        raise InfraError(f"git ls-remote {url} failed: {proc.stderr.strip()}")
    return proc.stdout.split()[0] if proc.stdout.strip() else None


def seed_repos(daemon: GitServerDaemon, serve_url: str) -> tuple[Repos, bool]:
    """app-source and app-config, with their first commits unless they have them already; app-source
    announces its pushes to the EventListener. Whether they were created now."""
    source = daemon.create_repo(SOURCE_REPO, exist_ok=True)
    config = daemon.create_repo(CONFIG_REPO, exist_ok=True)
    daemon.set_repo_webhook(SOURCE_REPO, f"{serve_url}/hooks/{LISTENER}")
    created = False
    if _head(config) is None:
        gitseed.commit_files(config, files.tree("app_config"), "web: base and overlays dev, staging, prod")
        created = True
    if _head(source) is None:
        message = "web: a tiny web app with unit tests and a Containerfile"
        gitseed.commit_files(source, files.tree("app_source"), message)
        created = True
    return Repos(source, config), created


def write_serve_files(dirs: DemoDirs, repos: Repos, cluster: LocalCluster, port: int) -> Path:
    """The ``gitloop serve`` configuration and the files it names; returns the configuration file."""
    values = {
        "CONFIG_URL": repos.config,
        "BUILD_RECORDS": str(dirs.builds),
        "PORT": str(port),
        "KUBECONFIG": str(cluster.kubeconfig),
    }
    for folder in ("ci", "apps"):
        target = dirs.root / folder
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob("*.yaml"):
            old.unlink()
        for rel, text in files.filled(folder, values).items():
            (target / rel).write_text(text, encoding="utf-8")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "webhook"},
        "stringData": {"token": webhook_secret(dirs)},
    }
    _write_private(dirs.secrets / "webhook.yaml", json.dumps(secret, indent=2) + "\n")
    dirs.builds.mkdir(parents=True, exist_ok=True)
    text = files.filled("serve.yaml", values)["serve.yaml"]
    dirs.serve_config.write_text(text, encoding="utf-8")
    return dirs.serve_config


def provision_access(dirs: DemoDirs) -> str:
    """``admin`` in the store serve will use, with the password in ``dirs.admin_password`` (generated
    when the file or the account's password is missing), and a new API token of ``admin`` for the demo's
    own client, returned (never printed); the demo's earlier tokens are revoked."""
    from gitloop.store import open_store

    dirs.database.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(str(dirs.database))
    try:
        accounts, audit = Accounts(store), AuditLog(store)
        account = accounts.get(ADMIN)
        if account is not None and not account.enabled:
            raise InfraError(
                f"the account {ADMIN!r} is disabled in the demo's store {dirs.database}: enable it with "
                f"'gitloop account enable {ADMIN} --database-url {dirs.database}'"
            )
        if account is None or not account.has_password or not dirs.admin_password.exists():
            password = generate_password()
            if account is None:
                accounts.create(ADMIN, password)
                audit.record(user="demo", action="accounts.create", object=ADMIN, source="demo")
            else:
                accounts.set_password(ADMIN, password)
                audit.record(user="demo", action="accounts.update-password", object=ADMIN, source="demo")
            _write_private(dirs.admin_password, password + "\n")
        tokens = Tokens(store)
        for old in tokens.list(subject=ADMIN):
            if old.description == DEMO_CLIENT:
                tokens.revoke(old.id, subject=ADMIN)
        info, token = tokens.issue(ADMIN, kind="api", expires_in=None, description=DEMO_CLIENT)
        details = {"id": info.id, "scope": "", "expires": "-"}
        audit.record(
            user="demo", action="accounts.token.create", object=ADMIN, source="demo", details=details
        )
        return token
    finally:
        store.close()


def push_change(source_url: str) -> tuple[str, str, float]:
    """Commit a change of the app's greeting to app-source and push it: the commit SHA, its message
    and the time the push began."""
    with tempfile.TemporaryDirectory(prefix="gitloop-demo-change-") as tmp:
        work = Path(tmp) / "app-source"
        gitseed.checkout(source_url, work)
        text = (work / "app.py").read_text(encoding="utf-8")
        found = _MESSAGE.search(text)
        if found is None:
            raise InfraError("app-source's app.py has no MESSAGE line to change")
        counted = re.search(r"\(change (\d+)\)$", found["text"])
        number = int(counted.group(1)) + 1 if counted else 1
        greeting = re.sub(r" \(change \d+\)$", "", found["text"]) + f" (change {number})"
        (work / "app.py").write_text(text[: found.start()] + f'MESSAGE = "{greeting}"' + text[found.end() :])
        message = f"web: greet with {greeting!r}"
        sha, pushed_at = gitseed.commit_and_push(work, message)
    return sha, message, pushed_at


def stop_infra(dirs: DemoDirs, cluster_name: str) -> None:
    """Stop the demo's git server and its cluster (their state goes; the repositories stay)."""
    git_daemon(dirs).down()
    LocalCluster(cluster_name).down()
