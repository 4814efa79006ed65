"""No secret reaches the store, a log, the API or the output: every place a secret can come from gets a
distinctive canary, real gitloop processes run with them, and every byte they wrote is searched.

Sources: a Secret manifest (``data``, ``stringData``, an SSH key, a docker config) used through
``secretKeyRef``, ``envFrom``, a ``-w name=secret:S`` workspace and a run's own secret workspace; the
caller's environment; a git password inside a ``resolver: git`` URL (a real git server with basic
auth); and for ``gitloop serve``: the EventListener's webhook secret, ``webhook.secretFile``,
repository ``passwordFile``/``sshKeyFile``, ``apiTokenFile`` and a Secret of the listener's files.
Searched: the state and cache directories (the store file with its -wal, run directories), every
stdout/stderr, ``-o yaml``/``pipeline get``/``logs``/``list`` output and every API answer — for each
canary as given, URL-encoded and base64-encoded at every alignment.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from gitloop.localinfra.gitserver import BasicAuth, GitServer

sys.path.insert(0, str(Path(__file__).parent.parent / "serve"))
from serve_fakes import github_headers, github_push
from serve_process import GITLOOP, ServeProcess, serve_env

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex
CANARY = {
    where: f"gitloop-canary-{RUN}-{where}"
    for where in (
        "data",
        "string",
        "ssh",
        "docker",
        "env",
        "gitpw",
        "hook",
        "webhook",
        "repopw",
        "repossh",
        "apitoken",
        "served",
    )
}


def _forms(value: str) -> set[str]:
    """``value`` as given, URL-encoded, and the part of its base64 encoding that shows whatever
    precedes it (three alignments)."""
    raw = value.encode()
    forms = {value, quote(value, safe="")}
    for pad in range(3):
        encoded = base64.b64encode(b"x" * pad + raw).decode()
        forms.add(encoded[4 if pad else 0 : -4])
    return forms


FORMS = {form: where for where, value in CANARY.items() for form in _forms(value)}


def _leaks(blobs: Iterable[tuple[str, bytes]]) -> list[str]:
    found = []
    for name, data in blobs:
        for form, where in FORMS.items():
            if form.encode() in data:
                found.append(f"{where} in {name}")
    return sorted(set(found))


def _files(*roots: Path) -> list[tuple[str, bytes]]:
    return [(str(p), p.read_bytes()) for root in roots for p in root.rglob("*") if p.is_file()]


def _git(env: Mapping[str, str], *args: str, cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=dict(env), check=True, capture_output=True)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SSH_KEY = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARY['ssh']}\n-----END OPENSSH PRIVATE KEY-----\n"
DOCKER = json.dumps({"auths": {"registry.local": {"auth": _b64("bot:" + CANARY["docker"])}}})

TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: show-secrets}
spec:
  workspaces: [{name: creds}, {name: docker}]
  steps:
    - name: print
      image: busybox
      env:
        - name: TOKEN
          valueFrom: {secretKeyRef: {name: creds, key: token}}
      envFrom:
        - secretRef: {name: creds}
      script: |
        echo "token=$TOKEN password=$password"
        cat $(workspaces.creds.path)/id_rsa $(workspaces.docker.path)/.dockerconfigjson
        echo "env: $(env | sort | tr '\\n' ' ')"
        echo "clone https://bot:$password@git.example.com/x.git"
"""


def _run_files(tmp_path: Path, task_url: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(
        textwrap.dedent(f"""\
            apiVersion: v1
            kind: Secret
            metadata: {{name: creds}}
            data:
              token: {_b64(CANARY["data"])}
            stringData:
              password: {CANARY["string"]}
              id_rsa: {json.dumps(SSH_KEY)}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {{name: regcred}}
            type: kubernetes.io/dockerconfigjson
            data:
              .dockerconfigjson: {_b64(DOCKER)}
            ---
            apiVersion: tekton.dev/v1
            kind: PipelineRun
            metadata: {{name: secret-run}}
            spec:
              pipelineSpec:
                workspaces: [{{name: creds}}, {{name: docker}}]
                tasks:
                  - name: show
                    taskRef:
                      resolver: git
                      params:
                        - {{name: url, value: "{task_url}"}}
                        - {{name: pathInRepo, value: task.yaml}}
                    workspaces: [{{name: creds}}, {{name: docker}}]
              workspaces:
                - name: docker
                  secret: {{secretName: regcred}}
            """)
    )
    return path


def _cli(env: Mapping[str, str], *args: str) -> tuple[str, bytes]:
    proc = subprocess.run([GITLOOP, *args], env=dict(env), capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    return f"gitloop {' '.join(args[:2])}", proc.stdout + proc.stderr


def test_pipeline_run_keeps_no_secret(tmp_path: Path, git_env: dict[str, str]) -> None:
    state, cache = tmp_path / "state", tmp_path / "cache"
    with GitServer(tmp_path / "repos", auth=BasicAuth("ci", CANARY["gitpw"]), env=git_env) as server:
        url = server.create_repo("tasks")
        authed = url.replace("http://", f"http://ci:{CANARY['gitpw']}@")
        seed = tmp_path / "seed"
        seed.mkdir()
        (seed / "task.yaml").write_text(TASK)
        _git(git_env, "init", "-q", "-b", "main", cwd=seed)
        _git(git_env, "add", ".", cwd=seed)
        _git(git_env, "commit", "-q", "-m", "task", cwd=seed)
        _git(git_env, "push", "-q", authed, "HEAD:refs/heads/main", cwd=seed)

        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GITLOOP_STATE_DIR=str(state), GITLOOP_CACHE_DIR=str(cache), API_KEY=CANARY["env"])
        files = _run_files(tmp_path, authed)
        outputs = [
            _cli(env, "pipeline", "run", "-f", str(files), "-w", "creds=secret:creds", "-o", "yaml"),
            _cli(env, "pipeline", "list"),
            _cli(env, "pipeline", "get", "secret-run", "-o", "yaml"),
            _cli(env, "pipeline", "get", "secret-run", "-o", "json"),
            _cli(env, "pipeline", "logs", "secret-run"),
        ]
    logs = outputs[-1][1].decode()
    assert "token=*** password=***" in logs and "https://bot:***@git.example.com" in logs, logs
    assert "secret-run" in outputs[1][1].decode()
    assert (state / "gitloop.db").stat().st_mode & 0o777 == 0o600
    assert state.stat().st_mode & 0o777 == 0o700
    assert _leaks([*outputs, *_files(state, cache)]) == []


LISTENER = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: github}
spec:
  triggers:
    - name: push
      interceptors:
        - ref: {name: github}
          params:
            - {name: secretRef, value: {secretName: hooks, secretKey: github}}
      bindings:
        - {name: revision, value: $(body.after)}
      template:
        spec:
          params: [{name: revision}]
          resourcetemplates:
            - apiVersion: tekton.dev/v1
              kind: PipelineRun
              metadata: {generateName: served-}
              spec:
                pipelineRef: {name: served}
                params: [{name: revision, value: $(tt.params.revision)}]
                workspaces:
                  - {name: key, secret: {secretName: deploy-key}}
"""

SERVED_PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: served}
spec:
  params: [{name: revision}]
  workspaces: [{name: key}]
  tasks:
    - name: use
      workspaces: [{name: key}]
      taskSpec:
        workspaces: [{name: key}]
        steps:
          - name: print
            image: busybox
            script: |
              echo "revision $(params.revision)"
              cat $(workspaces.key.path)/key
---
apiVersion: v1
kind: Secret
metadata: {name: deploy-key}
stringData:
  key: %s
"""


def _serve_config(tmp_path: Path) -> Path:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "hooks.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: hooks}}\nstringData: {{github: {CANARY['hook']}}}\n"
    )
    for name, where in (("webhook", "webhook"), ("git-token", "repopw"), ("api-token", "apitoken")):
        (secrets / name).write_text(CANARY[where] + "\n")
    (secrets / "id_ed25519").write_text(SSH_KEY.replace(CANARY["ssh"], CANARY["repossh"]))
    (secrets / "id_ed25519").chmod(0o600)
    ci = tmp_path / "ci"
    ci.mkdir()
    (ci / "listener.yaml").write_text(LISTENER)
    (ci / "pipeline.yaml").write_text(SERVED_PIPELINE % CANARY["served"])
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent("""\
            listen: 127.0.0.1:0
            apiTokenFile: secrets/api-token
            eventListeners:
              - name: github
                triggers: [ci/listener.yaml]
                pipelines: [ci/pipeline.yaml]
                secrets: [secrets/hooks.yaml]
            repositories:
              - url: https://git.example.com/platform
                username: gitloop
                passwordFile: secrets/git-token
              - url: git@git.example.com:platform
                sshKeyFile: secrets/id_ed25519
            webhook:
              secretFile: secrets/webhook
            """)
    )
    return config


def _answers(client: httpx.Client, paths: Iterable[str]) -> list[tuple[str, bytes]]:
    answers = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        answers.append((f"GET {path}", response.content))
    return answers


def test_serve_keeps_no_secret(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = serve_env(state)
    env["API_KEY"] = CANARY["env"]
    bodies: list[tuple[str, bytes]] = []
    with ServeProcess(_serve_config(tmp_path), env) as serve:
        headers = {"Authorization": f"Bearer {CANARY['apitoken']}"}
        with httpx.Client(base_url=serve.url, timeout=30.0, headers=headers) as client:
            body = github_push(after="1" * 40)
            started = client.post(
                "/hooks/github", content=body, headers=github_headers(body, secret=CANARY["hook"])
            )
            assert started.status_code == 202, started.text
            bodies.append(("POST /hooks/github", started.content))
            name = started.json()["pipelineRuns"][0] if "pipelineRuns" in started.json() else ""
            deadline = time.monotonic() + 120
            reason = ""
            while time.monotonic() < deadline and reason not in ("Succeeded", "Failed"):
                runs = client.get("/api/pipelineruns").json()["items"]
                if runs:
                    name = runs[0]["metadata"]["name"]
                    reason = runs[0]["status"]["conditions"][0].get("reason", "")
                time.sleep(0.2)
            assert reason == "Succeeded", client.get("/api/pipelineruns").text
            wrong = client.post("/hooks/github", content=body, headers=github_headers(body, secret="wrong"))
            assert wrong.status_code == 401
            bodies.append(("POST /hooks/github (wrong)", wrong.content))
            push = json.dumps({"ref": "refs/heads/main", "repository": {"html_url": "https://x/y"}}).encode()
            pushed = client.post(
                "/api/webhook", content=push, headers=github_headers(push, secret=CANARY["webhook"])
            )
            assert pushed.status_code == 200, pushed.text
            bodies.append(("POST /api/webhook", pushed.content))
            paths = [
                "/api/pipelineruns",
                f"/api/pipelineruns/{name}",
                f"/api/pipelineruns/{name}/taskruns",
                f"/api/pipelineruns/{name}/logs",
                f"/api/pipelineruns/{name}/logs?format=text",
                "/api/applications",
                "/metrics",
                "/healthz",
            ]
            bodies += _answers(client, paths)
            logs = client.get(f"/api/pipelineruns/{name}/logs?format=text").text
            assert "[use/print] revision " + "1" * 40 in logs and "***" in logs, logs
        assert serve.stop() == 0, serve.output()
    bodies.append(("serve output", serve.output().encode()))
    assert _leaks([*bodies, *_files(state)]) == []
