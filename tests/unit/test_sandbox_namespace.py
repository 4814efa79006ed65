"""The namespace sandbox's pure parts, table-driven from testdata/sandbox-namespace.yaml: the host's
root rebuilt on bubblewrap's tmpfs, the binds of one step (outermost first, ``readOnly`` as
``--ro-bind``, mount paths that would write the host refused) and the choice of mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.errors import UsageError
from gitloop.executors import namespace as ns

CASES: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "sandbox-namespace.yaml").read_text()
)
OWN = {
    ns.RESULTS: "results",
    ns.STEPS: "steps",
    ns.HOME: "home",
    ns.CREDS: "creds",
    ns.SCRIPTS: "scripts",
    ns.WORKSPACE: "workspace",
}


def _ids(section: str) -> list[str]:
    return [case["name"] for case in CASES[section]]


@pytest.mark.parametrize("case", CASES["root"], ids=_ids("root"))
def test_root_args(case: dict[str, Any]) -> None:
    assert ns.root_args([tuple(e) for e in case["entries"]]) == case["args"]


@pytest.mark.parametrize("case", CASES["binds"], ids=_ids("binds"))
def test_binds(case: dict[str, Any]) -> None:
    own = {path: Path("/host", name) for path, name in OWN.items()}
    mounts = [ns.Bind(Path("/host", name), target, ro) for name, target, ro in case["mounts"]]
    existing = set(case.get("existing", []))
    chosen = ns.binds(own, mounts, lambda path: path in existing)
    if "error" in case:
        assert isinstance(chosen, str) and case["error"] in chosen
        return
    assert isinstance(chosen, list)
    shown = [["ro" if b.read_only else "rw", b.source.name, b.target] for b in chosen]
    assert shown == case["binds"]
    flags = ns.bind_args(chosen)
    assert flags.count("--ro-bind") == sum(1 for b in case["binds"] if b[0] == "ro")


@pytest.mark.parametrize("case", CASES["modes"], ids=_ids("modes"))
def test_choose_mode(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(UsageError, match=case["error"]):
            ns.choose_mode(case["asked"], lambda: case["problem"])
        return
    mode, reason = ns.choose_mode(case["asked"], lambda: case["problem"])
    assert (mode, reason) == (case["mode"], case.get("reason", ""))


def test_the_command_line_runs_the_step_in_its_working_directory() -> None:
    line = ns.command_line(
        "bwrap", ["--bind", "/usr", "/usr"], [], "/workspace/src", ["/bin/sh", "-c", "pwd"]
    )
    assert line == [
        "bwrap",
        "--die-with-parent",
        "--bind",
        "/usr",
        "/usr",
        "--chdir",
        "/workspace/src",
        "--",
        "/bin/sh",
        "-c",
        "pwd",
    ]


def test_auto_falls_back_to_paths_where_bubblewrap_cannot_run(tmp_path: Path) -> None:
    """The probe runs the program for real: one that is not there, or one that fails as a bubblewrap
    refused by the kernel would (``false``), leaves local steps in the paths mode, saying why."""
    from gitloop.executors.local import LocalExecutor

    absent = str(tmp_path / "no-bwrap")
    assert ns.namespace_problem(absent).startswith("bubblewrap does not run:")
    assert ns.namespace_problem("/bin/false") == "bubblewrap cannot make a namespace here: exit 1"
    executor = LocalExecutor(tmp_path / "boxes", bwrap="/bin/false")
    assert (executor.mode, executor.mode_reason) == (ns.PATHS, ns.namespace_problem("/bin/false"))
    assert executor.mode_line().startswith(
        "local steps run without a namespace sandbox (bubblewrap cannot make a namespace here: exit 1)"
    )
    with pytest.raises(UsageError, match="the namespace sandbox is not available: bubblewrap does not run"):
        LocalExecutor(tmp_path / "boxes", bwrap=absent, sandbox=ns.NAMESPACE)
