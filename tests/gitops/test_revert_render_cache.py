"""The render cache across a revert: git returning to trees it had before (a revert commit) serves the
cached manifests but reports the revision asked for, so auto-sync syncs the revert, not the old commit."""

from __future__ import annotations

from pathlib import Path

from cd_fakes import FakeRenderer, FakeRepo

from gitloop.gitops.source import ManifestSource
from gitloop.spec.argocd import parse_apps_text

URL = "https://git.example/config.git"
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  project: default
  source: {repoURL: https://git.example/config.git, path: app, targetRevision: main}
  destination: {server: https://kubernetes.default.svc, namespace: shop}
"""


def _cm(data: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web}}\ndata: {{k: {data}}}\n"


def test_the_same_trees_at_a_new_commit_report_the_new_commit(tmp_path: Path) -> None:
    repo = FakeRepo(URL)
    v1 = repo.commit({"app/cm.yaml": _cm("v1")})
    repo.commit({"app/cm.yaml": _cm("v2")})
    revert = repo.commit({"app/cm.yaml": _cm("v1")})
    sources = ManifestSource(lambda url: repo, FakeRenderer(), tmp_path / "checkouts")
    app = parse_apps_text(APP).apps["web"]
    first = sources.render(app, (v1,))
    again = sources.render(app, (revert,))
    assert revert != v1 and tree_equal(repo, v1, revert)
    assert again.revisions == (revert,) and first.revisions == (v1,)
    assert again.manifests == first.manifests and again.key == first.key
    assert sources.renders == 1


def tree_equal(repo: FakeRepo, a: str, b: str) -> bool:
    return repo.tree_id(a) == repo.tree_id(b)
