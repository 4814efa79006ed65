"""The import-linter contracts bite: a copy of the source tree with one deliberate layer violation
fails ``lint-imports``, while the tree as it is passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "violation", "contract"),
    [
        ("model/resources.py", "import gitloop.cli.main", "Layers"),
        ("kube/discovery.py", "import gitloop.gitops.health", "Layers"),
        ("gitops/health/pod.py", "import gitloop.kube.cluster", "Engines depend on ports"),
        ("gitops/health/pod.py", "import lightkube", "Engines depend on ports"),
    ],
)
def test_a_deliberate_violation_breaks_a_contract(
    tree: Path, module: str, violation: str, contract: str
) -> None:
    path = tree / "src" / "gitloop" / module
    path.write_text(path.read_text() + f"\n{violation}  # deliberate violation\n")
    res = _lint(tree)
    assert res.returncode != 0, res.stdout
    assert "BROKEN" in res.stdout and contract in res.stdout


def test_the_tree_as_it_is_keeps_every_contract(tree: Path) -> None:
    res = _lint(tree)
    assert res.returncode == 0, res.stdout
