// The PipelineRun page (/ui/pipelineruns/:name?task=&step=): the run's header with cancel and rerun, the
// task graph with live task states (the run streamed from /api/v1/stream/pipelineruns/{name}), the
// selected task's steps, params, results and skip/timeout reasons, and the selected step's live log.
import { h, append, clear } from "../dom.js";
import { api } from "../api.js";
import { badge, dialog, duration, errorBox, keyboard, shortcutsHelp, spinner, timeAgo, toast } from "../ui.js";
import { taskGraph } from "./run_graph.js";
import { logPanel } from "./run_logs.js";
import { badgeValue, condition, durationOf, pipelineOf, runReason, runState, sourceCommit, startTime, taskStates, triggerOf, labelsOf } from "./run_model.js";

function valueText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function table(label, rows) {
  if (!rows.length) return null;
  return h("table", { class: "run-table", attrs: { "aria-label": label } },
    h("caption", { class: "run-caption" }, label),
    h("thead", {}, h("tr", {}, h("th", { attrs: { scope: "col" } }, "Name"), h("th", { attrs: { scope: "col" } }, "Value"))),
    h("tbody", {}, rows.map(([name, value]) => h("tr", {}, h("th", { attrs: { scope: "row" } }, name), h("td", { class: "mono" }, valueText(value))))));
}

function stepState(step) {
  if (step.terminated) return step.terminated.exitCode === 0 ? "Succeeded" : "Failed";
  if (step.running) return "Running";
  return "Pending";
}

/** The step to show when the address names none: the running one, else the first failed, else the first. */
function defaultStep(steps) {
  return (steps.find((s) => s.running) || steps.find((s) => stepState(s) === "Failed") || steps[0] || {}).name || "";
}

export async function mount(root, ctx) {
  const name = ctx.params.name;
  const selection = { task: ctx.query.task || "", step: ctx.query.step || "" };
  let run = null;
  let taskRuns = [];
  let graph = null;
  let logs = null;
  let logKey = "";
  let closeStream = null;
  let combination = 0; // which TaskRun of a matrixed task is shown

  const header = h("div", { class: "run-header" });
  const graphBox = h("div", { class: "run-graph-box-wrap" }, spinner("Loading the task graph"));
  const taskBox = h("section", { class: "run-task", attrs: { "aria-label": "Selected task" } });
  const logBox = h("div", { class: "run-log" });
  const runInfo = h("section", { class: "run-info", attrs: { "aria-label": "Run params and results" } });
  root.append(h("div", { class: "run-page" }, header, graphBox, h("div", { class: "run-detail" }, h("div", { class: "run-side" }, taskBox, runInfo), logBox)));

  const [mayCancel, mayRerun] = await Promise.all([
    ctx.can("pipelineruns", "cancel", name), ctx.can("pipelineruns", "create", name),
  ]);

  let spec = null;
  try {
    [run, spec] = await Promise.all([
      api.get(`pipelineruns/${encodeURIComponent(name)}`),
      api.get(`pipelineruns/${encodeURIComponent(name)}/pipelinespec`).then((a) => a.pipelineSpec, () => null),
    ]);
  } catch (err) {
    clear(root).appendChild(errorBox(err));
    return undefined;
  }

  function select(task, step = "") {
    if (task !== selection.task) combination = 0;
    chosen = true;
    selection.task = task;
    selection.step = step;
    ctx.setQuery({ task, step });
    render();
  }

  async function cancel() {
    const choice = await dialog({
      title: `Cancel ${name}?`,
      body: h("p", {}, "Stop the running tasks. Cancel skips the finally tasks; Cancel, run finally runs them."),
      actions: [{ label: "Keep running", value: null }, { label: "Cancel, run finally", value: "CancelledRunFinally" },
        { label: "Cancel run", value: "Cancelled", kind: "danger" }],
    });
    if (!choice) return;
    try {
      await api.post(`pipelineruns/${encodeURIComponent(name)}/cancel`, { status: choice });
      toast(`${choice} asked for ${name}`, "ok");
    } catch (err) {
      toast(`Cancel failed: ${err.message}`, "error");
    }
  }

  async function rerun() {
    try {
      const answer = await api.post(`pipelineruns/${encodeURIComponent(name)}/rerun`);
      toast(`Started ${answer.name}`, "ok");
      ctx.navigate(`/ui/pipelineruns/${encodeURIComponent(answer.name)}`);
    } catch (err) {
      toast(`Rerun failed: ${err.message}`, "error");
    }
  }

  function renderHeader() {
    const state = runState(run);
    const done = state !== "Running" && state !== "Pending";
    const sha = sourceCommit(run);
    const labels = labelsOf(run);
    const spent = durationOf(run);
    const found = condition(run);
    const timeouts = (run.spec && run.spec.timeouts) || {};
    const timeout = timeouts.pipeline || (run.spec && run.spec.timeout) || "";
    append(clear(header), [
      h("div", { class: "run-title" },
        h("a", { href: "/ui/pipelineruns", class: "run-back" }, "Pipeline runs"), " / ",
        h("h1", { class: "run-name" }, name), badge("run", badgeValue(run)),
        runReason(run) !== badgeValue(run) ? h("span", { class: "run-muted" }, runReason(run)) : null),
      h("dl", { class: "run-facts" },
        h("dt", {}, "Pipeline"), h("dd", {}, h("a", { href: `/ui/pipelineruns?pipeline=${encodeURIComponent(pipelineOf(run))}` }, pipelineOf(run) || "—")),
        h("dt", {}, "Started"), h("dd", { title: startTime(run) }, timeAgo(startTime(run)) || "not yet"),
        h("dt", {}, "Duration"), h("dd", { class: "run-duration" }, spent === null ? "—" : duration(spent)),
        h("dt", {}, "Trigger"), h("dd", {}, labels["gitloop.dev/rerun-of"]
          ? h("a", { href: `/ui/pipelineruns/${encodeURIComponent(labels["gitloop.dev/rerun-of"])}` }, triggerOf(run)) : triggerOf(run) || "—"),
        h("dt", {}, "Source commit"), h("dd", {}, sha ? h("a", { class: "mono", href: `/ui/changes/${sha}` }, sha.slice(0, 12)) : "—"),
        timeout ? [h("dt", {}, "Timeout"), h("dd", {}, timeout)] : null),
      found.message ? h("p", { class: ["run-message", state === "Failed" || state === "Timeout" ? "run-message-bad" : ""] }, found.message) : null,
      h("div", { class: "run-actions" },
        mayCancel && !done ? h("button", { type: "button", class: "button button-danger", onclick: cancel }, "Cancel") : null,
        mayRerun && done ? h("button", { type: "button", class: "button button-primary", onclick: rerun }, "Rerun") : null)]);
  }

  function renderTask(states) {
    clear(taskBox);
    const found = states.get(selection.task);
    if (!selection.task) {
      taskBox.append(h("p", { class: "empty" }, "Select a task in the graph to see its steps and logs."));
      return null;
    }
    const node = (spec && [...(spec.tasks || []), ...(spec.finally || [])].find((t) => t.name === selection.task)) || {};
    const state = found ? found.state : "Pending";
    const children = found ? found.taskRuns : [];
    const index = Math.min(combination, Math.max(0, children.length - 1));
    const taskRun = children[index];
    const status = (taskRun && taskRun.status) || {};
    const steps = status.steps || [];
    const step = selection.step || defaultStep(steps);
    append(taskBox, [
      h("h2", {}, "Task ", h("span", { class: "mono" }, selection.task), " ", badge("run", found && found.reason ? found.reason : state)),
      found && found.skipped ? h("p", { class: "run-skip" }, `Skipped: ${found.skipped.reason}`,
        (found.skipped.whenExpressions || []).map((w) => h("code", { class: "run-when" }, `${w.input} ${w.operator} [${(w.values || []).join(", ")}]`))) : null,
      node.timeout ? h("p", { class: "run-muted" }, `Timeout: ${node.timeout}`) : null,
      children.length > 1 ? h("label", { class: "run-combination" }, "Matrix combination ", h("select", {
        class: "input", attrs: { "aria-label": "Matrix combination" },
        onchange: (event) => { combination = Number(event.target.value); render(); },
      }, children.map((child, i) => h("option", { value: String(i), selected: i === index }, `${i}: ${child.metadata.name}`)))) : null,
      condition(taskRun).message ? h("p", { class: "run-message" }, condition(taskRun).message) : null,
      (status.retriesStatus || []).length ? h("p", { class: "run-muted" }, `Retried ${status.retriesStatus.length} time(s)`) : null,
      steps.length ? h("ul", { class: "run-steps", attrs: { "aria-label": "Steps" } }, steps.map((s) => h("li", {},
        h("button", {
          type: "button", class: ["run-step", s.name === step && "run-step-selected"],
          attrs: { "aria-pressed": String(s.name === step), "aria-label": `Step ${s.name}: ${stepState(s)}` },
          onclick: () => select(selection.task, s.name),
        }, badge("run", stepState(s)), h("span", { class: "mono" }, s.name),
        s.terminated && s.terminated.exitCode ? h("span", { class: "run-muted" }, ` exit ${s.terminated.exitCode}`) : null)))) : null,
      table("Task params", ((taskRun && taskRun.spec && taskRun.spec.params) || node.params || []).map((p) => [p.name, p.value])),
      table("Task results", (status.results || []).map((r) => [r.name, r.value]))]);
    return { step, prefix: children.length > 1 ? `${selection.task}-${index}` : selection.task };
  }

  function renderRunInfo() {
    append(clear(runInfo), [
      table("Run params", ((run.spec && run.spec.params) || []).map((p) => [p.name, p.value])),
      table("Run results", ((run.status && run.status.results) || []).map((r) => [r.name, r.value]))]);
    if (!runInfo.childNodes.length) runInfo.append(h("p", { class: "run-muted" }, "No params or results."));
  }

  function renderLog(shown) {
    const key = shown && shown.step ? `${shown.prefix}/${shown.step}` : "";
    if (key === logKey) return;
    logKey = key;
    if (logs) logs.close();
    logs = null;
    clear(logBox);
    if (!key) { logBox.append(h("p", { class: "empty" }, "No step selected.")); return; }
    logs = logPanel(name, key, { title: key });
    logBox.append(logs.element);
  }

  let chosen = Boolean(selection.task);
  function render() {
    const states = taskStates(run, taskRuns);
    const state = runState(run);
    const done = state !== "Running" && state !== "Pending";
    if (!chosen && states.size) { // as Tekton Dashboard: the running task, else the first that failed
      const entries = [...states];
      const pick = entries.find(([, s]) => s.state === "Running") || entries.find(([, s]) => s.state === "Failed" || s.state === "Timeout");
      if (pick) { selection.task = pick[0]; chosen = true; }
    }
    renderHeader();
    if (!graph) {
      graph = taskGraph(spec, run, (task) => select(task));
      clear(graphBox).append(graph.element);
    } else if (graph.names.length < states.size && !spec) {
      graph = taskGraph(spec, run, (task) => select(task)); // tasks appear as the run starts them
      clear(graphBox).append(graph.element);
    }
    graph.update(states, selection.task, done);
    renderRunInfo();
    renderLog(renderTask(states));
  }

  try {
    taskRuns = (await api.get(`pipelineruns/${encodeURIComponent(name)}/taskruns`)).items || [];
  } catch (err) {
    taskRuns = [];
  }
  render();
  closeStream = api.events(`stream/pipelineruns/${encodeURIComponent(name)}`, (event) => {
    if (event.type === "RUN") { run = event.run; taskRuns = event.taskRuns; render(); }
    else if (event.type === "END") closeStream();
  });
  const ticker = setInterval(() => {
    const shown = header.querySelector(".run-duration");
    const spent = durationOf(run);
    if (shown && runState(run) === "Running" && spent !== null) shown.textContent = duration(spent);
  }, 1000);

  const order = () => (graph ? graph.names : []);
  const move = (by) => {
    const names = order();
    if (!names.length) return;
    const at = names.indexOf(selection.task);
    select(names[(at + by + names.length) % names.length]);
  };
  const stopKeys = keyboard({
    j: () => move(1), k: () => move(-1),
    "/": () => { const input = logBox.querySelector("input[type=search]"); if (input) input.focus(); },
    "?": () => shortcutsHelp([["j / k", "next / previous task"], ["/", "search the log"], ["?", "this help"]]),
  });

  return () => {
    if (closeStream) closeStream();
    if (logs) logs.close();
    clearInterval(ticker);
    stopKeys();
  };
}
