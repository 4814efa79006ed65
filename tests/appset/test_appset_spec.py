"""ApplicationSet parsing: one testdata file per case, one table of expectations (file:line, field, reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.model.selectors import Operator
from gitloop.spec.argocd import load_apps
from gitloop.spec.argocd.applicationset import ClusterGenerator, GitGenerator, MatrixGenerator, MergeGenerator

TESTDATA = Path(__file__).parent / "testdata" / "parse"

INVALID = {
    "unknown-generator.yaml": ("unknown-generator.yaml:7", "spec.generators[0].gitt", "unknown field 'gitt'"),
    "scm-provider.yaml": ("scm-provider.yaml:9", "spec.generators[1].scmProvider", "not supported"),
    "unknown-git-field.yaml": (
        "unknown-git-field.yaml:10",
        "spec.generators[0].git.directory",
        "unknown field 'directory'",
    ),
    "rolling-sync.yaml": (
        "rolling-sync.yaml:13",
        "spec.strategy.type",
        "RollingSync strategy is not supported",
    ),
    "bad-policy.yaml": (
        "bad-policy.yaml:13",
        "spec.syncPolicy.applicationsSync",
        "invalid value 'create-everything'",
    ),
    "matrix-three.yaml": ("matrix-three.yaml:8", "spec.generators[0].matrix.generators", "exactly two"),
    "merge-no-keys.yaml": ("merge-no-keys.yaml:7", "spec.generators[0].merge.mergeKeys", "no merge keys"),
    "git-both.yaml": ("git-both.yaml:10", "spec.generators[0].git.directories", "exactly one of directories"),
    "patch-without-gotemplate.yaml": ("patch-without-gotemplate.yaml:11", "spec.templatePatch", "goTemplate"),
    "bad-operator.yaml": (
        "bad-operator.yaml:11",
        "spec.generators[0].clusters.selector.matchExpressions[0].operator",
        "invalid value 'Equals'",
    ),
    "no-template.yaml": ("no-template.yaml:5", "spec.template", "required field is missing"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_applicationsets_name_file_line_object_and_field(name: str) -> None:
    where, field, reason = INVALID[name]
    with pytest.raises(SpecError) as caught:
        load_apps([TESTDATA / name])
    error = caught.value
    assert error.file is not None and error.file.endswith(where), error.file
    assert error.field == field
    assert error.obj is not None and error.obj.startswith("ApplicationSet/")
    assert reason in str(error)


def test_every_invalid_case_has_its_file() -> None:
    files = {p.name for p in TESTDATA.glob("*.yaml") if not p.name.startswith("valid-")}
    assert files == set(INVALID)


def test_a_full_applicationset_reads_into_its_parts() -> None:
    found = load_apps([TESTDATA / "valid-full.yaml"])
    appset = found.appsets["guestbook"]
    assert not found.apps
    assert appset.owner == "appset:guestbook"
    assert appset.go_template and appset.go_template_options == ("missingkey=error",)
    assert appset.policy == "create-update" and appset.allows_update and not appset.allows_delete
    assert appset.preserve_resources_on_deletion
    assert appset.labels == {"team": "web"}
    assert appset.template_patch is not None and "automated" in appset.template_patch
    matrix, merge = appset.generators
    assert isinstance(matrix, MatrixGenerator) and isinstance(merge, MergeGenerator)
    assert isinstance(matrix.first, GitGenerator)
    assert [(d.path, d.exclude) for d in matrix.first.directories] == [
        ("envs/*", False),
        ("envs/scratch", True),
    ]
    assert matrix.first.requeue_after_seconds == 180
    assert isinstance(matrix.second, ClusterGenerator)
    assert {(r.key, r.operator) for r in matrix.second.selector} == {
        ("env", Operator.EQUALS),
        ("tier", Operator.NOT_IN),
    }
    assert matrix.second_raw["clusters"]["selector"]["matchLabels"]["env"] == "{{.path.basename}}"
    assert merge.merge_keys == ("server",)
    assert [g.repo_url for g in appset.git_generators()] == ["https://git.example/config.git"]
    assert appset.document["spec"]["template"]["metadata"]["name"] == "guestbook-{{.name}}"


def test_an_applicationset_named_twice_is_refused(tmp_path: Path) -> None:
    text = (TESTDATA / "valid-full.yaml").read_text()
    (tmp_path / "two.yaml").write_text(text + "---\n" + text)
    with pytest.raises(SpecError, match="ApplicationSet 'guestbook' is defined twice"):
        load_apps([tmp_path / "two.yaml"])
