"""The podman executor runs an image's own entrypoint, as Tekton does (podman is a real part: missing,
it fails under CI): a step with neither ``command`` nor ``script`` runs the image's ``ENTRYPOINT``
with the step's ``args`` in place of the image's ``CMD``, or with the ``CMD`` when it has no ``args``.

The image is made here, offline: the mini image's files (``realparts``) imported with an
``ENTRYPOINT`` and a ``CMD`` of its own.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitloop.service.pipelines import RunRequest, execute, prepare_task_run
from realparts import mini_image_archive, mini_image_files, podman_setup, require_program

pytestmark = pytest.mark.integration

ENTRYPOINT = '["/bin/sh", "-c", "echo \\"entry: $*\\"; printf %s \\"$*\\" > /tekton/results/got", "entry"]'
RUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: entry}
spec:
  taskSpec:
    results: [{name: got}]
    steps:
      - {name: with-args, image: IMAGE, args: [one, "two words"]}
      - {name: with-cmd, image: IMAGE}
      - {name: with-command, image: IMAGE, command: [/bin/sh, -c, 'echo "command: $0"', replaced]}
"""


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def log(self, source: str, line: str) -> None:
        self.lines.append((source, line))

    def changed(self, state: object) -> None:
        return None

    def notice(self, message: str) -> None:
        return None


@pytest.fixture(scope="module")
def entry_image(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str]:
    work = tmp_path_factory.mktemp("entry")
    env, _mini = podman_setup(work)
    podman = require_program("podman", "podman")
    archive, tag = mini_image_archive(mini_image_files())
    image = f"localhost/gitloop-test/entry:{tag}"
    (work / "entry.tar").write_bytes(archive)
    subprocess.run(
        [
            podman,
            "import",
            "--change",
            f"ENTRYPOINT {ENTRYPOINT}",
            "--change",
            'CMD ["from-cmd"]',
            str(work / "entry.tar"),
            image,
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return env, image


def test_a_step_without_command_runs_the_images_entrypoint(
    entry_image: tuple[dict[str, str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, image = entry_image
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CONTAINERS_CONF", env["CONTAINERS_CONF"])
    path = tmp_path / "run.yaml"
    path.write_text(RUN.replace("IMAGE", image))
    view = Lines()
    result = execute(prepare_task_run(RunRequest([path], executor="podman")), view, handle_signals=False)
    assert result.succeeded, result.manifest["status"]
    said = {source.rsplit("/", 1)[-1]: line for source, line in view.lines}
    assert said == {
        "with-args": "entry: one two words",  # the entrypoint with the step's args
        "with-cmd": "entry: from-cmd",  # no args: the image's CMD
        "with-command": "command: replaced",  # a command replaces the entrypoint
    }
    results = {r["name"]: r["value"] for r in result.manifest["status"]["results"]}
    assert results == {"got": "from-cmd"}
