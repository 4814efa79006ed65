"""``gitloop app``: the kubeconfig's contexts are the clusters; a destination that names none of them
gets an ``InvalidSpecError`` condition and its sync fails before anything is planned or applied.

No cluster is reached: the contexts point at closed ports, and the repository does not exist, so a
destination that is found fails later, on git, with a ``ComparisonError`` instead."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gitloop.cli.main import cli

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: dev
contexts:
  - {name: dev, context: {cluster: dev, user: u}}
  - {name: prod, context: {cluster: prod, user: u}}
clusters:
  - {name: dev, cluster: {server: "https://127.0.0.1:1"}}
  - {name: prod, cluster: {server: "https://127.0.0.1:2/"}}
users:
  - {name: u, user: {token: t}}
"""

UNKNOWN_NAME = "unable to find destination server: there are no clusters with this name: staging"
UNKNOWN_SERVER = "cluster 'https://127.0.0.1:3' has not been configured"


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GITLOOP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    return tmp_path


def run(files: Path, destination: str, *command: str) -> Result:
    (files / "app.yaml").write_text(
        textwrap.dedent(f"""\
            apiVersion: argoproj.io/v1alpha1
            kind: Application
            metadata: {{name: web, namespace: argocd}}
            spec:
              project: default
              source: {{repoURL: {files / "missing.git"}, targetRevision: main, path: k8s}}
              destination: {{{destination}, namespace: web}}
            """)
    )
    args = ["-f", str(files / "app.yaml"), "--kubeconfig", str(files / "kubeconfig")]
    args += ["--database-url", str(files / "gitloop.db")]
    return CliRunner().invoke(cli, ["app", *command, "web", *args], catch_exceptions=False)


@pytest.mark.parametrize(
    ("destination", "message"),
    [("name: staging", UNKNOWN_NAME), ("server: 'https://127.0.0.1:3'", UNKNOWN_SERVER)],
)
def test_an_unknown_destination_is_an_invalid_spec_and_is_never_synced(
    files: Path, destination: str, message: str
) -> None:
    shown = run(files, destination, "get")
    assert shown.exit_code == 0, shown.output
    assert f"InvalidSpecError: {message}" in shown.output
    synced = run(files, destination, "sync")
    assert synced.exit_code == 2, "a sync the engine would not run is refused as invalid input"
    assert f"error: cannot sync web: {message}" in synced.output


@pytest.mark.parametrize(
    "destination",
    [
        "name: prod",
        "name: dev",
        "name: in-cluster",
        "server: 'https://127.0.0.1:2'",
        "server: 'https://127.0.0.1:1/'",
        "server: 'https://kubernetes.default.svc'",
    ],
)
def test_a_context_name_or_server_url_is_a_known_destination(files: Path, destination: str) -> None:
    shown = run(files, destination, "get")
    assert shown.exit_code == 0, shown.output
    assert "InvalidSpecError" not in shown.output and "ComparisonError: rpc error" in shown.output
