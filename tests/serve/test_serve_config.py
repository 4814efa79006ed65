"""The serve configuration file: what each field becomes, and every mistake named with file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.serveconfig import DEFAULT_MAX_BODY_BYTES, ServeConfig, is_loopback, load


@pytest.fixture
def base(tmp_path: Path) -> Path:
    for name in (
        "triggers.yaml",
        "pipeline.yaml",
        "secrets.yaml",
        "token",
        "key",
        "hosts",
        "kubeconfig",
        "url",
    ):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "apps").mkdir()
    return tmp_path


def _load(base: Path, text: str) -> ServeConfig:
    path = base / "serve.yaml"
    path.write_text(textwrap.dedent(text))
    return load(path)


def test_an_empty_file_gives_the_defaults(base: Path) -> None:
    config = _load(base, "{}\n")
    assert (config.host, config.port, config.address) == ("127.0.0.1", 8080, "127.0.0.1:8080")
    assert config.listeners == () and config.applications == () and config.database_url == ""
    assert (config.poll_interval, config.shutdown_grace, config.max_body_bytes) == (
        180.0,
        30.0,
        DEFAULT_MAX_BODY_BYTES,
    )
    assert (config.max_parallel_runs, config.executor) == (4, "local")
    assert config.applications_poll_interval == 3.0
    assert _load(base, "applicationsPollInterval: 500ms\n").applications_poll_interval == 0.5


def test_every_field(base: Path) -> None:
    config = _load(
        base,
        """\
        apiVersion: gitloop.dev/v1alpha1
        kind: ServeConfig
        listen: "[::1]:9000"
        databaseURL: postgresql://u:p@127.0.0.1/db
        pollInterval: 1m30s
        shutdownGracePeriod: 5s
        maxBodyBytes: 2048
        pipelines: {maxParallel: 2, executor: podman}
        eventListeners:
          - name: source
            triggers: [triggers.yaml]
            pipelines: pipeline.yaml
            secrets: [secrets.yaml]
        applications:
          - files: [apps]
          - repoURL: https://git.example.com/cfg.git
            revision: main
            path: /argocd/apps/
        clusters:
          - {name: dev, kubeconfig: kubeconfig, context: admin}
          - {name: prod}
        repositories:
          - {url: https://git.example.com/org, username: bot, passwordFile: token}
          - {url: "git@git.example.com:org", sshKeyFile: key, knownHostsFile: hosts}
        webhook: {secretFile: token}
        """,
    )
    assert (config.host, config.port, config.address) == ("::1", 9000, "[::1]:9000")
    assert config.database_url == "postgresql://u:p@127.0.0.1/db"
    assert "u:p" not in repr(config)
    assert (config.poll_interval, config.shutdown_grace, config.max_body_bytes) == (90.0, 5.0, 2048)
    assert (config.max_parallel_runs, config.executor) == (2, "podman")
    [listener] = config.listeners
    assert listener.triggers == (base / "triggers.yaml",) and listener.pipelines == (base / "pipeline.yaml",)
    assert config.listener("source") is listener and config.listener("x") is None
    files, repo = config.applications
    assert files.files == (base / "apps",)
    assert (repo.repo_url, repo.revision, repo.path) == (
        "https://git.example.com/cfg.git",
        "main",
        "argocd/apps",
    )
    assert config.clusters[0].kubeconfig == base / "kubeconfig" and config.clusters[0].context == "admin"
    assert config.clusters[1].kubeconfig is None
    https, ssh = config.repositories
    assert (https.username, https.password_file) == ("bot", base / "token")
    assert (ssh.ssh_key_file, ssh.known_hosts_file) == (base / "key", base / "hosts")
    assert config.webhook_secret_file == base / "token"


def test_remote_listening_needs_allow_remote_and_a_token(base: Path) -> None:
    config = _load(base, "listen: 0.0.0.0:80\nallowRemote: true\napiTokenFile: token\n")
    assert config.host == "0.0.0.0" and config.api_token_file  # noqa: S104 == base / "token"
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and not is_loopback("10.0.0.1")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("listen: 0.0.0.0:8080\n", ":1: ServeConfig: listen", "not a loopback address"),
        ("listen: example.com:80\n", ":1: ServeConfig: listen", "not an IP address"),
        ("listen: 127.0.0.1\n", ":1: ServeConfig: listen", "not HOST:PORT"),
        ("listen: 127.0.0.1:70000\n", ":1: ServeConfig: listen", "out of range"),
        ("kind: Application\n", ":1: ServeConfig: kind", "must be 'ServeConfig'"),
        ("database: x\n", ":1: ServeConfig: database", "use databaseURL"),
        ("pollInterval: soon\n", ":1: ServeConfig: pollInterval", ""),
        ("pollInterval: 10ms\n", ":1: ServeConfig: pollInterval", "at least 1s"),
        ("applicationsPollInterval: soon\n", ":1: ServeConfig: applicationsPollInterval", ""),
        ("applicationsPollInterval: 10ms\n", ":1: ServeConfig: applicationsPollInterval", "at least 100ms"),
        ("maxBodyBytes: 10\n", ":1: ServeConfig: maxBodyBytes", ">= 1024"),
        ("pipelines: {executor: docker}\n", ":1: ServeConfig: pipelines.executor", "must be one of"),
        ("pipelines: {maxParallel: 0}\n", ":1: ServeConfig: pipelines.maxParallel", ">= 1"),
        (
            "databaseURL: sqlite:///x\ndatabaseURLFile: url\n",
            ":2: ServeConfig: databaseURLFile",
            "either databaseURL or databaseURLFile",
        ),
        (
            "eventListeners:\n  - triggers: [triggers.yaml]\n",
            ":2: ServeConfig: eventListeners[0].name",
            "required",
        ),
        ("eventListeners:\n  - name: a\n", ":2: ServeConfig: eventListeners[0].triggers", "required"),
        (
            "eventListeners:\n  - name: a\n    triggers: [missing.yaml]\n",
            ":3: ServeConfig: eventListeners[0].triggers[0]",
            "no such file or directory",
        ),
        (
            "eventListeners:\n  - {name: a, triggers: triggers.yaml}\n  - {name: a, triggers: triggers.yaml}\n",
            ":3: ServeConfig: eventListeners[1].name",
            "listed twice",
        ),
        (
            "eventListeners:\n  - {name: a, triggers: triggers.yaml, template: x}\n",
            ":2: ServeConfig: eventListeners[0].template",
            "unknown field",
        ),
        ("applications:\n  - {path: apps}\n", ":2: ServeConfig: applications[0]", "needs files, or repoURL"),
        (
            "applications:\n  - {files: [apps], repoURL: x}\n",
            ":2: ServeConfig: applications[0].repoURL",
            "either files or repoURL",
        ),
        (
            "applications:\n  - {repoURL: x, path: ../etc}\n",
            ":2: ServeConfig: applications[0].path",
            "inside the repository",
        ),
        (
            "clusters:\n  - {name: a, kubeconfig: apps}\n",
            ":2: ServeConfig: clusters[0].kubeconfig",
            "is a directory",
        ),
        ("repositories:\n  - {url: https://h/o}\n", ":2: ServeConfig: repositories[0]", "needs passwordFile"),
        (
            "repositories:\n  - {url: 'https://u:p@h/o', passwordFile: token}\n",
            ":2: ServeConfig: repositories[0].url",
            "must not hold credentials",
        ),
        (
            "repositories:\n  - {url: h, passwordFile: token, sshKeyFile: key}\n",
            ":2: ServeConfig: repositories[0].sshKeyFile",
            "not both",
        ),
        (
            "repositories:\n  - {url: h, passwordFile: token, knownHostsFile: hosts}\n",
            ":2: ServeConfig: repositories[0].knownHostsFile",
            "only applies with sshKeyFile",
        ),
        ("webhook: {secret: x}\n", ":1: ServeConfig: webhook.secret", "unknown field"),
        ("listen: [\n", "serve.yaml:2", "invalid YAML"),
        ("a: 1\n---\nb: 2\n", "serve.yaml", "one YAML document"),
    ],
)
def test_mistakes_name_the_line_and_the_field(base: Path, text: str, where: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        _load(base, text)
    shown = str(caught.value)
    assert where in shown, shown
    assert message in shown, shown
    assert shown.startswith(str(base / "serve.yaml"))


def test_a_password_in_the_database_url_is_not_in_errors(base: Path) -> None:
    with pytest.raises(SpecError) as caught:
        _load(base, "databaseURL: postgresql://u:hunter2@h/db\nlisten: nope\n")
    assert "hunter2" not in str(caught.value)
