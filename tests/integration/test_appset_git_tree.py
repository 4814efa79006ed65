"""The ApplicationSet git generators over the server's real git port (``MirrorTree``: the git mirrors and
their exports) and a real repository on the local git server: the files generator reads JSON and YAML
files at the revision, a new commit is seen after a push, and a path outside the export is refused."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from gitloop.appset.generators import generate_all, inputs_for
from gitloop.appset.ports import StaticClusters
from gitloop.errors import GitError
from gitloop.git import MirrorCache
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer
from gitloop.service.server.appsets import MirrorTree, parse_appset

pytestmark = pytest.mark.integration


def _appset(url: str) -> dict[str, object]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "files"},
        "spec": {
            "generators": [
                {"git": {"repoURL": url, "revision": "main", "files": [{"path": "clusters/*/config.*"}]}}
            ],
            "template": {"metadata": {"name": "x"}, "spec": {}},
        },
    }


def test_the_files_generator_reads_a_real_repository_through_the_mirrors(
    git_server: GitServer, tmp_path: Path
) -> None:
    url = git_server.create_repo(f"appset-files-{uuid.uuid4().hex[:6]}")
    commit_files(
        url,
        {
            "clusters/eu/config.json": json.dumps({"cluster": {"name": "eu-1"}}),
            "clusters/us/config.yaml": "cluster: {name: us-1}\n",
            "clusters/us/notes.md": "not matched\n",
        },
        "two clusters",
    )
    tree = MirrorTree(MirrorCache(tmp_path / "mirrors"), tmp_path / "exports")
    appset = parse_appset(_appset(url), "files.yaml")
    inputs = inputs_for(appset, tree, StaticClusters())
    found = generate_all(appset, inputs)
    assert [(p["cluster.name"], p["path"], p["path.filename"]) for p in found] == [
        ("eu-1", "clusters/eu", "config.json"),
        ("us-1", "clusters/us", "config.yaml"),
    ]

    commit_files(url, {"clusters/ap/config.json": json.dumps({"cluster": {"name": "ap-1"}})}, "a third")
    assert [p["cluster.name"] for p in generate_all(appset, inputs)] == ["ap-1", "eu-1", "us-1"]

    sha, files = tree.files(url, "main")
    assert "clusters/us/notes.md" in files and len(sha) == 40
    with pytest.raises(GitError, match="is not a file"):
        tree.read(url, sha, "../../mirrors")
    with pytest.raises(GitError):
        tree.files(url, "no-such-branch")
