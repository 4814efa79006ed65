"""Benchmark: time from a step writing a log line to that line appearing in the open PipelineRun page.

Starts a real ``gitloop serve`` (one EventListener, the local executor; the page logged in with an API
token of ``admin``) on 127.0.0.1, starts a PipelineRun through its webhook whose one step prints ``--lines`` lines, each
after a file this benchmark creates (so the lines come one at a time, while the step runs), and opens
the run's page on that step in Debian's chromium (headless, driven by Playwright; never a browser
Playwright downloads). Each line carries the time the step wrote it (``date +%s.%N``, just before the
write); a MutationObserver in the page stamps the time the line was added to the document; the
difference is the figure (the same clock: one machine). Printed: median, p90 and max, beside the anchor.

Anchor: Tekton Dashboard's log viewer re-fetches a running step's log every 4 s
(``pollingInterval: 4000``, the default of ``LogContainer`` in tektoncd/dashboard
``packages/components/src/components/Log/Log.jsx``), unless its log streaming is turned on: a line
written just after a fetch shows up to 4 s later (2 s on average), plus the pod log API's round trip.

    .venv/bin/python bench/ui_logs_bench.py [--lines N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from gitloop.api.access import COOKIE, CSRF_COOKIE, csrf_token

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ANCHOR_MS = 4000.0
GITLOOP = str(Path(sys.executable).parent / "gitloop")

LISTENER = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: bench}
spec:
  triggers:
    - name: logs
      bindings: [{name: run, value: $(body.run)}]
      template: {ref: logs}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: logs}
spec:
  params: [{name: run}]
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: PipelineRun
      metadata: {generateName: logs-}
      spec:
        pipelineRef: {name: logs}
"""
PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: logs}}
spec:
  tasks:
    - name: emit
      taskSpec:
        steps:
          - name: emit
            image: alpine
            script: |
              i=1
              while [ $i -le {lines} ]; do
                while [ ! -e "{gates}/$i" ]; do sleep 0.005; done
                echo "mark $i $(date +%s.%N)"
                i=$((i+1))
              done
"""
OBSERVE = """() => {
  window.__seen = {};
  const stamp = () => {
    for (const el of document.querySelectorAll('.log-line .log-text')) {
      const m = /^mark (\\d+) /.exec(el.textContent);
      if (m && !(m[1] in window.__seen)) window.__seen[m[1]] = performance.timeOrigin + performance.now();
    }
  };
  new MutationObserver(stamp).observe(document.body, {childList: true, subtree: true});
  stamp();
}"""


def _admin_token(config: Path, env: dict[str, str]) -> str:
    """An API token of ``admin`` (created without a password) in the store of ``config``."""
    where = ["--config", str(config)]
    for args in (["create", "admin"], ["token", "create", "admin", "--description", "ui logs bench"]):
        done = subprocess.run(
            [GITLOOP, "account", *args, *where], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"gitloop account {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def _serve(root: Path, lines: int) -> tuple[subprocess.Popen[str], str, str]:
    (root / "gates").mkdir()
    (root / "listener.yaml").write_text(LISTENER)
    (root / "pipeline.yaml").write_text(PIPELINE.format(lines=lines, gates=root / "gates"))
    config = root / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            shutdownGracePeriod: 1s
            eventListeners:
              - name: bench
                triggers: [{root / "listener.yaml"}]
                pipelines: [{root / "pipeline.yaml"}]
            """)
    )
    env = {**os.environ, "GITLOOP_STATE_DIR": str(root / "state")}
    token = _admin_token(config, env)
    process = subprocess.Popen(
        [GITLOOP, "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=(root / "serve.log").open("w"),
        env=env,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "listening on " in line:
            return process, line.strip().rsplit(" ", 1)[-1], token
    raise SystemExit(f"gitloop serve did not start:\n{(root / 'serve.log').read_text()}")


def measure(lines: int) -> list[float]:
    """Milliseconds from each line's write to its appearance in the page."""
    with tempfile.TemporaryDirectory(prefix="gitloop-ui-logs-") as tmp:
        root = Path(tmp)
        process, url, token = _serve(root, lines)
        try:
            answer = httpx.post(f"{url}/hooks/bench", content=json.dumps({"run": "bench"}), timeout=30)
            assert answer.status_code == 202, answer.text
            name = answer.json()["created"][0]["name"]
            os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                context.add_cookies(
                    [
                        {"name": COOKIE, "value": token, "url": url, "httpOnly": True, "sameSite": "Strict"},
                        {"name": CSRF_COOKIE, "value": csrf_token(token), "url": url, "sameSite": "Strict"},
                    ]
                )
                page = context.new_page()
                page.goto(f"{url}/ui/pipelineruns/{name}?task=emit&step=emit")
                page.get_by_role("log", name="Log of emit/emit").wait_for()
                page.evaluate(OBSERVE)
                latencies = []
                for i in range(1, lines + 1):
                    (root / "gates" / str(i)).touch()
                    page.wait_for_function(f"() => '{i}' in window.__seen", timeout=30_000)
                    seen = page.evaluate(f"window.__seen['{i}']")
                    text = (
                        page.locator(".log-line .log-text", has_text=f"mark {i} ").first.text_content() or ""
                    )
                    written = float(text.split()[2])
                    latencies.append(seen - written * 1000)
                browser.close()
            return latencies
        finally:
            for i in range(1, lines + 1):
                (root / "gates" / str(i)).touch()
            process.terminate()
            process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=30)
    args = parser.parse_args()
    found = sorted(measure(args.lines))
    p90 = found[min(len(found) - 1, round(0.9 * (len(found) - 1)))]
    load = os.getloadavg()[0]
    print(
        f"step writes a line -> the line is in the open run page ({len(found)} lines, load average {load:.1f})"
    )
    print(
        f"  median {statistics.median(found):.0f} ms, p90 {p90:.0f} ms, max {found[-1]:.0f} ms, min {found[0]:.0f} ms"
    )
    print(
        f"  anchor: Tekton Dashboard re-fetches a running step's log every {ANCHOR_MS:.0f} ms "
        f"(up to {ANCHOR_MS:.0f} ms, {ANCHOR_MS / 2:.0f} ms on average); "
        f"ratio of our median to its mean wait: {statistics.median(found) / (ANCHOR_MS / 2):.2f}"
    )


if __name__ == "__main__":
    main()
