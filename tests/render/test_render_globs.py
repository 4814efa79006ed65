"""The glob dialects (gobwas for directory include/exclude, doublestar for value files) and the build
environment's ``$VAR`` substitution."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.render import BuildEnv
from gitloop.render.globs import GlobError, glob_files, gobwas_regex

GOBWAS = [
    ("*.yaml", "a.yaml", True),
    ("*.yaml", "dir/a.yaml", True),  # no separators: * crosses directories
    ("*.yaml", "a.yml", False),
    ("{a.yaml,b.yaml}", "b.yaml", True),
    ("{a.yaml,b.yaml}", "c.yaml", False),
    ("{config.json,env-usw2/*}", "env-usw2/x/y.yaml", True),
    ("{*.yml,{x,y}.json}", "y.json", True),
    ("env-?/*", "env-a/x.yaml", True),
    ("env-?/*", "env-ab/x.yaml", False),
    ("[a-c]*.yaml", "b.yaml", True),
    ("[!a-c]*.yaml", "b.yaml", False),
    ("[!a-c]*.yaml", "d.yaml", True),
    ("\\*.yaml", "*.yaml", True),
    ("\\*.yaml", "a.yaml", False),
    ("a.b", "axb", False),
    ("**", "deep/er/x.json", True),
]


@pytest.mark.parametrize(("pattern", "path", "matches"), GOBWAS)
def test_gobwas(pattern: str, path: str, matches: bool) -> None:
    assert bool(gobwas_regex(pattern).fullmatch(path)) is matches


@pytest.mark.parametrize("pattern", ["[abc", "{a,b", "{a,{b,c}"])
def test_unclosed_patterns(pattern: str) -> None:
    with pytest.raises(GlobError, match="unclosed"):
        gobwas_regex(pattern)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ["envs/a.yaml", "envs/z.yaml", "envs/nested/c.yaml", "envs/nested/deep/d.yaml", "envs/b.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n", encoding="utf-8")
    return tmp_path


DOUBLESTAR = [
    ("envs/*.yaml", ["envs/a.yaml", "envs/z.yaml"]),
    ("envs/**/*.yaml", ["envs/a.yaml", "envs/z.yaml", "envs/nested/c.yaml", "envs/nested/deep/d.yaml"]),
    ("envs/*/*.yaml", ["envs/nested/c.yaml"]),
    ("envs/{a,z}.yaml", ["envs/a.yaml", "envs/z.yaml"]),
    ("envs/[^a]*", ["envs/b.txt", "envs/z.yaml"]),
    ("envs/?.yaml", ["envs/a.yaml", "envs/z.yaml"]),
    ("nothing/*.yaml", []),
]


@pytest.mark.parametrize(("pattern", "expected"), DOUBLESTAR)
def test_doublestar_files_in_doublestar_order(tree: Path, pattern: str, expected: list[str]) -> None:
    assert [p.relative_to(tree).as_posix() for p in glob_files(f"{tree}/{pattern}")] == expected


ENV = BuildEnv(app_name="web", namespace="shop", revision="0123456789abcdef", source_path="apps/web")
SUBSTITUTIONS = [
    ("$ARGOCD_APP_NAME", "web"),
    ("${ARGOCD_APP_NAMESPACE}-x", "shop-x"),
    ("$ARGOCD_APP_REVISION_SHORT/$ARGOCD_APP_REVISION_SHORT_8", "0123456/01234567"),
    ("$$ARGOCD_APP_NAME", "$ARGOCD_APP_NAME"),
    ("$UNKNOWN.yaml", ".yaml"),
    ("cost: 5 $", "cost: 5 $"),
    ("a $ b", "a $ b"),
    ("${unclosed", "unclosed"),
    ("${}x", "x"),
    ("$1x", "x"),
    ("$ARGOCD_APP_SOURCE_PATH/values.yaml", "apps/web/values.yaml"),
]


@pytest.mark.parametrize(("text", "expected"), SUBSTITUTIONS)
def test_envsubst(text: str, expected: str) -> None:
    assert ENV.envsubst(text) == expected
