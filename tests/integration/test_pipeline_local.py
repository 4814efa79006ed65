"""Pipelines really run with the local executor: host processes, real directories, real signals.

Results passing, workspaces shared across tasks, parallel tasks, finally after a failure, a timeout
that kills a ``sleep`` (and nothing survives), retry then succeed, a missing binary, cancellation by
SIGINT of a ``gitloop pipeline run`` process, the store afterwards, and the CLI's exit codes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitloop.cli.main import cli
from gitloop.pipeline.state import PipelineRunState, TaskRunState
from gitloop.service.pipelines import RunRequest, RunResult, execute, prepare_pipeline_run, store_opener

pytestmark = pytest.mark.integration

GITLOOP = Path(sys.executable).parent / "gitloop"


class Recorder:
    """A ``RunView`` that keeps what it was shown."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.notices: list[str] = []
        self.last: PipelineRunState | TaskRunState | None = None

    def log(self, source: str, line: str) -> None:
        self.lines.append((source, line))

    def changed(self, state: PipelineRunState | TaskRunState) -> None:
        self.last = state

    def notice(self, message: str) -> None:
        self.notices.append(message)


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "state"
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(root))
    yield root


def _write(tmp_path: Path, text: str, name: str = "pipeline.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _run(path: Path, **fields: Any) -> tuple[RunResult, Recorder]:
    view = Recorder()
    prepared = prepare_pipeline_run(RunRequest([path], **fields))
    return execute(prepared, view, handle_signals=False), view


def _status(result: RunResult) -> dict[str, Any]:
    status: dict[str, Any] = result.manifest["status"]
    return status


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for init to reap it does not count), after a grace."""
    deadline = time.monotonic() + 3
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.05)


CHAIN = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: add}
spec:
  params: [{name: x}]
  results: [{name: sum}, {name: words, type: array}]
  steps:
    - name: compute
      image: busybox
      script: |
        echo "adding to $(params.x)"
        printf '%s' "$(($(params.x) + 1))" > $(results.sum.path)
        printf '["%s", "b"]' "$(params.x)" > $(results.words.path)
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: chain}
spec:
  params: [{name: start, default: "1"}]
  results:
    - {name: total, value: $(tasks.third.results.sum)}
  tasks:
    - {name: first, taskRef: {name: add}, params: [{name: x, value: $(params.start)}]}
    - {name: second, taskRef: {name: add}, params: [{name: x, value: $(tasks.first.results.sum)}]}
    - {name: third, taskRef: {name: add}, params: [{name: x, value: $(tasks.second.results.sum)}]}
    - name: echo-array
      params: [{name: words, value: "$(tasks.first.results.words[*])"}]
      taskSpec:
        params: [{name: words, type: array}]
        steps:
          - {name: show, image: busybox, command: [echo], args: ["$(params.words[*])"]}
"""


def test_results_pass_between_tasks_and_everything_is_kept(tmp_path: Path, state_dir: Path) -> None:
    result, view = _run(_write(tmp_path, CHAIN), params=["start=40"])
    status = _status(result)
    assert result.succeeded, status
    assert status["results"] == [{"name": "total", "value": "43"}]
    assert ("third/compute", "adding to 42") in view.lines
    assert ("echo-array/show", "1 b".replace("1", "40")) in view.lines
    run = result.manifest["metadata"]["name"]
    store = store_opener(None)()
    try:
        kept = store.get("PipelineRun", run)
        assert kept is not None and kept.labels["gitloop.dev/reason"] == "Succeeded"
        request: Any = kept.doc["request"]
        assert request["params"] == ["start=40"] and "kind: Pipeline" in request["sources"][0]["text"]
        assert kept.doc["state"]["tasks"]["third"]["status"] == "Succeeded"  # type: ignore[index]
        children = store.query("TaskRun", labels={"tekton.dev/pipelineRun": run})
        assert sorted(c.name for c in children) == [
            f"{run}-{t}" for t in sorted(["echo-array", "first", "second", "third"])
        ]
        assert [(line.source, line.text) for line in store.read_log(run, source="first/compute")] == [
            ("first/compute", "adding to 40")
        ]
    finally:
        store.close()
    assert not (state_dir / "runs" / run).exists()


WORKSPACES = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: share}
spec:
  workspaces: [{name: shared}, {name: out}]
  tasks:
    - name: write
      workspaces: [{name: w, workspace: shared}]
      taskSpec:
        workspaces: [{name: w}]
        steps:
          - {name: w, image: busybox, script: "echo hello > $(workspaces.w.path)/greeting"}
    - name: read
      runAfter: [write]
      workspaces: [{name: r, workspace: shared}, {name: o, workspace: out, subPath: nested}]
      taskSpec:
        workspaces: [{name: r, readOnly: true}, {name: o}]
        steps:
          - name: r
            image: busybox
            workingDir: /workspace/r
            script: |
              cat greeting
              cp greeting $(workspaces.o.path)/copied
"""


def test_workspaces_are_shared_across_tasks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result, view = _run(_write(tmp_path, WORKSPACES), workspaces=["shared=emptyDir", f"out={out}"])
    assert not result.succeeded  # emptyDir is per TaskRun, as in Tekton: "read" finds no greeting
    result, view = _run(
        _write(tmp_path, WORKSPACES), workspaces=[f"shared={tmp_path / 'shared'}", f"out={out}"]
    )
    assert result.succeeded, _status(result)
    assert ("read/r", "hello") in view.lines
    assert (out / "nested" / "copied").read_text() == "hello\n"


def test_volume_claim_template_is_shared_and_removed(tmp_path: Path, state_dir: Path) -> None:
    text = (
        WORKSPACES
        + """\
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: vct-run}
spec:
  pipelineRef: {name: share}
  workspaces:
    - name: shared
      volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}
    - {name: out, persistentVolumeClaim: {claimName: results}}
"""
    )
    result, _ = _run(_write(tmp_path, text))
    assert result.succeeded, _status(result)
    assert (state_dir / "volumes" / "results" / "nested" / "copied").read_text() == "hello\n"
    assert not (state_dir / "runs" / "vct-run").exists()


PARALLEL = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: wide}
spec:
  tasks:
""" + "".join(
    f"    - {{name: t{i}, taskSpec: {{steps: [{{image: busybox, script: 'sleep 1'}}]}}}}\n" for i in range(6)
)


def test_independent_tasks_run_in_parallel(tmp_path: Path) -> None:
    started = time.monotonic()
    result, _ = _run(_write(tmp_path, PARALLEL))
    took = time.monotonic() - started
    assert result.succeeded
    assert took < 2.5, f"6 parallel 1 s tasks took {took:.1f}s"


FINALLY = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: fin}
spec:
  workspaces: [{name: w}]
  tasks:
    - name: broken
      taskSpec:
        steps: [{name: fail, image: busybox, script: "echo failing; exit 3"}]
    - name: never
      runAfter: [broken]
      taskSpec:
        steps: [{image: busybox, script: "echo never"}]
  finally:
    - name: cleanup
      params: [{name: s, value: $(tasks.broken.status)}, {name: all, value: $(tasks.status)}]
      workspaces: [{name: w}]
      taskSpec:
        params: [{name: s}, {name: all}]
        workspaces: [{name: w}]
        steps:
          - {name: c, image: busybox, script: "echo $(params.s) $(params.all) > $(workspaces.w.path)/final"}
"""


def test_finally_runs_after_a_failure(tmp_path: Path) -> None:
    result, _ = _run(_write(tmp_path, FINALLY), workspaces=[f"w={tmp_path / 'w'}"])
    status = _status(result)
    assert status["conditions"][0]["reason"] == "Failed"
    assert (tmp_path / "w" / "final").read_text() == "Failed Failed\n"
    assert {s["name"]: s["reason"] for s in status["skippedTasks"]} == {"never": "PipelineRun was stopping"}


TIMEOUT = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: slow}
spec:
  workspaces: [{name: w}]
  tasks:
    - name: sleepy
      timeout: 1s
      workspaces: [{name: w}]
      taskSpec:
        workspaces: [{name: w}]
        steps:
          - name: sleep
            image: busybox
            script: |
              sleep 300 &
              echo $! > $(workspaces.w.path)/child
              echo $$ > $(workspaces.w.path)/main
              wait
"""


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    started = time.monotonic()
    result, _ = _run(_write(tmp_path, TIMEOUT), workspaces=[f"w={tmp_path / 'w'}"])
    assert time.monotonic() - started < 5
    child = result.manifest["status"]["childReferences"][0]["name"]
    assert _status(result)["conditions"][0]["reason"] == "Failed"
    store = store_opener(None)()
    try:
        kept = store.get("TaskRun", child)
        assert kept is not None
        condition = kept.doc["manifest"]["status"]["conditions"][0]  # type: ignore[index]
        assert condition["reason"] == "TaskRunTimeout"
    finally:
        store.close()
    for name in ("main", "child"):
        pid = int((tmp_path / "w" / name).read_text())
        assert not _alive(pid), f"the {name} process {pid} survived the timeout"


RETRY = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: flaky}
spec:
  workspaces: [{name: w}]
  tasks:
    - name: flaky
      retries: 2
      workspaces: [{name: w}]
      taskSpec:
        workspaces: [{name: w}]
        steps:
          - name: try
            image: busybox
            script: |
              echo "try $(context.task.retry-count)"
              if [ -f $(workspaces.w.path)/tried ]; then exit 0; fi
              touch $(workspaces.w.path)/tried
              exit 1
"""


def test_retry_then_succeed(tmp_path: Path) -> None:
    result, view = _run(_write(tmp_path, RETRY), workspaces=[f"w={tmp_path / 'w'}"])
    assert result.succeeded, _status(result)
    assert [line for source, line in view.lines if source == "flaky/try"] == ["try 0", "try 1"]
    state = view.last
    assert isinstance(state, PipelineRunState)


MISSING_BINARY = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: tool}
spec:
  steps:
    - {name: run, image: maven, command: [no-such-tool-gitloop], args: [build]}
"""


def test_missing_binary_fails_the_task_run_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path, MISSING_BINARY, "task.yaml")
    result = CliRunner().invoke(cli, ["task", "run", "-f", str(path), "-o", "json"])
    assert result.exit_code == 1, result.output
    assert "no-such-tool-gitloop" in result.output and "was not found" in result.output


SLEEP_THEN_FINALLY = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: long}
spec:
  workspaces: [{name: w}]
  tasks:
    - name: long
      workspaces: [{name: w}]
      taskSpec:
        workspaces: [{name: w}]
        steps:
          - name: sleep
            image: busybox
            script: |
              echo $$ > $(workspaces.w.path)/pid
              sleep 300
  finally:
    - name: after
      workspaces: [{name: w}]
      taskSpec:
        workspaces: [{name: w}]
        steps: [{image: busybox, script: "echo ran > $(workspaces.w.path)/finally"}]
"""


def test_sigint_cancels_and_runs_finally(tmp_path: Path, state_dir: Path) -> None:
    path = _write(tmp_path, SLEEP_THEN_FINALLY)
    w = tmp_path / "w"
    env = {**os.environ, "GITLOOP_STATE_DIR": str(state_dir)}
    proc = subprocess.Popen(
        [str(GITLOOP), "pipeline", "run", "-f", str(path), "-w", f"w={w}", "-o", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not (w / "pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (w / "pid").exists(), "the step never started"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    status = json.loads(out)["status"]
    assert status["conditions"][0]["reason"] == "Cancelled"
    assert (w / "finally").read_text() == "ran\n"
    assert not _alive(int((w / "pid").read_text()))
    assert "cancelling" in err


BAD_INPUTS: list[tuple[str, str, list[str], list[str]]] = [
    (
        "bad-yaml",
        "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: x\n",
        [],
        ["invalid YAML", "bad.yaml:"],
    ),
    (
        "cycle",
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: c}\nspec:\n  tasks:\n"
        "    - {name: a, runAfter: [b], taskSpec: {steps: [{image: x, script: 'touch MARK'}]}}\n"
        "    - {name: b, runAfter: [a], taskSpec: {steps: [{image: x, script: 'touch MARK'}]}}\n",
        [],
        ["Pipeline/c", "spec.tasks[0]", "cycle detected in task order: a -> b -> a"],
    ),
    (
        "missing-task",
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: m}\nspec:\n  tasks:\n"
        "    - {name: a, taskRef: {name: nowhere}}\n",
        [],
        ["Pipeline/m", "spec.tasks[0].taskRef", "Task 'nowhere' not found"],
    ),
    (
        "wrong-param-type",
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: w}\nspec:\n  params: [{name: n, type: array}]\n"
        "  tasks:\n    - {name: a, taskSpec: {steps: [{image: x, script: 'touch MARK'}]}}\n"
        "---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: wr}\nspec:\n  pipelineRef: {name: w}\n"
        "  params: [{name: n, value: not-an-array}]\n",
        [],
        ["PipelineRun/wr", "spec.params[0].value", "wrong param type for 'n': declared array, got string"],
    ),
    (
        "missing-param",
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: mp}\nspec:\n  params: [{name: n}]\n"
        "  tasks:\n    - {name: a, taskSpec: {steps: [{image: x, script: 'touch MARK'}]}}\n",
        [],
        ["bad.yaml:1: Pipeline/mp", "spec.params", "mp-run-", "[User error]", "missing parameters: [n]"],
    ),
    ("unknown-param-flag", CHAIN, ["-p", "nonsense"], ["-p 'nonsense': expected name=value"]),
]


@pytest.mark.parametrize(
    ("text", "flags", "words"), [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_exits_2_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, flags: list[str], words: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, text, "bad.yaml")
    result = CliRunner().invoke(cli, ["pipeline", "run", "-f", str(path), *flags])
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.output
    assert not (tmp_path / "MARK").exists()


def test_cli_exit_codes_and_store_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(cli, ["pipeline", "run", "-f", str(_write(tmp_path, CHAIN)), "-o", "yaml"])
    assert good.exit_code == 0, good.output
    assert "reason: Succeeded" in good.output
    bad = runner.invoke(
        cli, ["pipeline", "run", "-f", str(_write(tmp_path, FINALLY, "fin.yaml")), "-w", f"w={tmp_path}"]
    )
    assert bad.exit_code == 1, bad.output
    listed = runner.invoke(cli, ["pipeline", "list"])
    assert listed.exit_code == 0 and "chain" in listed.output and "fin" in listed.output
    name = next(line.split()[0] for line in listed.output.splitlines() if " chain " in f" {line} ")
    got = runner.invoke(cli, ["pipeline", "get", name])
    assert got.exit_code == 0 and "kind: TaskRun" in got.output
    logs = runner.invoke(cli, ["pipeline", "logs", name, "--task", "first"])
    assert logs.output == "[first/compute] adding to 1\n"
    missing = runner.invoke(cli, ["pipeline", "logs", "no-such-run"])
    assert missing.exit_code == 2


TASK_WITH_PARAMS = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: greet}
spec:
  params: [{name: who}, {name: extra, type: array, default: []}]
  results: [{name: greeting}]
  steps:
    - name: hello
      image: busybox
      command: [sh, -c, 'echo "hello $0 $*" | tee $(results.greeting.path)', "$(params.who)"]
      args: ["$(params.extra[*])"]
"""


def test_task_run_with_params_and_pipeline_flag(tmp_path: Path) -> None:
    runner = CliRunner()
    path = _write(tmp_path, TASK_WITH_PARAMS, "task.yaml")
    result = runner.invoke(
        cli, ["task", "run", "-f", str(path), "-p", "who=you", "-p", "extra=a,b", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout[result.stdout.index("{") :])
    assert manifest["kind"] == "TaskRun"
    assert manifest["status"]["results"] == [
        {"name": "greeting", "type": "string", "value": "hello you a b\n"}
    ]
    missing = runner.invoke(cli, ["task", "run", "-f", str(path)])
    assert (
        missing.exit_code == 2
        and "missing values for these params which have no default values: [who]" in missing.output
    )
    chain = _write(tmp_path, CHAIN)
    flagged = runner.invoke(
        cli, ["pipeline", "run", "-f", str(chain), "--pipeline", "chain", "-p", "start=7"]
    )
    assert flagged.exit_code == 0, flagged.output
    assert "[third/compute] adding to 9" in flagged.output
    unknown = runner.invoke(cli, ["pipeline", "run", "-f", str(chain), "--pipeline", "nope"])
    assert unknown.exit_code == 2 and "no Pipeline named 'nope'" in unknown.output


SIDECAR_SECRET = """\
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {token: s3cret, user: bot}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {level: debug}
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: side}
spec:
  workspaces:
    - {name: creds, secret: {secretName: creds, items: [{key: token, path: auth/token, mode: 0400}]}}
    - {name: scratch, emptyDir: {}}
  taskSpec:
    workspaces: [{name: creds}, {name: scratch}]
    sidecars:
      - name: ticker
        image: busybox
        script: |
          echo $$ > $(workspaces.scratch.path)/sidecar.pid
          while true; do date +%s > $(workspaces.scratch.path)/tick; sleep 0.05; done
    stepTemplate:
      image: busybox
      envFrom: [{prefix: CFG_, configMapRef: {name: settings}}]
    steps:
      - name: wait
        script: |
          for i in $(seq 1 100); do [ -f $(workspaces.scratch.path)/tick ] && break; sleep 0.05; done
          cat $(workspaces.scratch.path)/sidecar.pid > PIDFILE
          echo "level=$CFG_level token=$(cat $(workspaces.creds.path)/auth/token)"
          ls $(workspaces.creds.path)
"""


def test_sidecars_secrets_and_step_template(tmp_path: Path) -> None:
    pidfile = tmp_path / "sidecar.pid"
    path = _write(tmp_path, SIDECAR_SECRET.replace("PIDFILE", str(pidfile)), "side.yaml")
    result = CliRunner().invoke(cli, ["task", "run", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert "[side/wait] level=debug token=***" in result.output  # a Secret's value is masked in output
    assert "[side/wait] auth" in result.output
    assert not _alive(int(pidfile.read_text()))


SCOPED_WORKSPACES = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: report}
spec:
  workspaces: [{name: source, optional: true}]
  steps:
    - {name: say, image: alpine, script: "echo task-source-bound=$(workspaces.source.bound)"}
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: scoped}
spec:
  workspaces: [{name: source}]
  tasks:
    - name: unbound
      taskRef: {name: report}
    - name: bound
      taskRef: {name: report}
      workspaces: [{name: source, workspace: source}]
    - name: embedded
      workspaces: [{name: mine, workspace: source}]
      taskSpec:
        workspaces: [{name: mine}]
        steps:
          - {name: say, image: alpine, script: "echo mine=$(workspaces.mine.bound) pipeline=$(workspaces.source.bound)"}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: scoped-run}
spec:
  pipelineRef: {name: scoped}
  workspaces: [{name: source, emptyDir: {}}]
"""


def test_a_tasks_workspace_variables_name_its_own_workspaces(tmp_path: Path) -> None:
    """``$(workspaces.source.bound)`` in a referenced Task is the Task's workspace ``source`` (unbound
    here), not the Pipeline's workspace of the same name; an embedded spec still sees the Pipeline's
    workspaces it does not declare."""
    result, view = _run(_write(tmp_path, SCOPED_WORKSPACES))
    assert result.succeeded
    said = {source.split("/")[0]: line for source, line in view.lines}
    assert said == {
        "unbound": "task-source-bound=false",
        "bound": "task-source-bound=true",
        "embedded": "mine=true pipeline=true",
    }
