// What the pipeline views read out of Tekton-shaped runs (pure, no DOM): a run's status, times, trigger
// and source commit; each pipeline task's state from its TaskRuns and the run's skippedTasks; the task
// graph of a Pipeline (runAfter and result references become edges) and its layered layout.

const SHA = /^[0-9a-f]{40}$/;
const RESULT_REF = /\$\(\s*tasks\.([A-Za-z0-9_.-]+?)\.results\./g;

/** The first Succeeded condition of a run or TaskRun ({} when there is none). */
export function condition(obj) {
  return ((obj && obj.status && obj.status.conditions) || []).find((c) => c.type === "Succeeded") || {};
}

/** The run's state in one word, as badges and the status filter use it. */
export function runState(obj) {
  const found = condition(obj);
  const reason = found.reason || "";
  if (found.status === "True") return "Succeeded";
  if (found.status === "False") {
    if (/cancel/i.test(reason) || (obj.spec && obj.spec.status)) return "Cancelled";
    return /timeout/i.test(reason) ? "Timeout" : "Failed";
  }
  if (!found.status || reason === "Pending" || reason === "PipelineRunPending") return "Pending";
  return "Running";
}

/** The reason shown beside the state (Tekton's condition reason), e.g. PipelineRunTimeout. */
export function runReason(obj) {
  return condition(obj).reason || runState(obj);
}

/** What a status badge says: the state, or Tekton's reason for a timeout (PipelineRunTimeout). */
export function badgeValue(obj) {
  const state = runState(obj);
  return state === "Timeout" ? runReason(obj) : state;
}

export function startTime(obj) {
  return (obj && obj.status && obj.status.startTime) || (obj && obj.metadata && obj.metadata.creationTimestamp) || "";
}

/** Seconds the run took, or has taken so far while it runs. */
export function durationOf(obj, now = Date.now()) {
  const start = Date.parse(startTime(obj));
  if (Number.isNaN(start)) return null;
  const end = obj.status && obj.status.completionTime ? Date.parse(obj.status.completionTime) : now;
  return Math.max(0, (end - start) / 1000);
}

export function labelsOf(obj) {
  return (obj && obj.metadata && obj.metadata.labels) || {};
}

export function pipelineOf(run) {
  const spec = run.spec || {};
  return labelsOf(run)["tekton.dev/pipeline"] || (spec.pipelineRef && spec.pipelineRef.name) || "";
}

/** What started the run: "rerun of X", "listener/trigger", or "". */
export function triggerOf(run) {
  const labels = labelsOf(run);
  if (labels["gitloop.dev/rerun-of"]) return `rerun of ${labels["gitloop.dev/rerun-of"]}`;
  const listener = labels["triggers.tekton.dev/eventlistener"] || labels["gitloop.dev/listener"] || "";
  const trigger = labels["triggers.tekton.dev/trigger"] || "";
  return [listener, trigger].filter(Boolean).join("/");
}

/** The source commit the run builds: the first param whose value is a full commit SHA. */
export function sourceCommit(run) {
  for (const param of (run.spec && run.spec.params) || []) {
    if (typeof param.value === "string" && SHA.test(param.value)) return param.value;
  }
  return "";
}

/** Map pipeline task name → {state, reason, taskRuns, skipped} from the run and its TaskRuns. */
export function taskStates(run, taskRuns) {
  const byName = new Map(taskRuns.map((t) => [t.metadata.name, t]));
  const states = new Map();
  for (const ref of (run.status && run.status.childReferences) || []) {
    const entry = states.get(ref.pipelineTaskName) || { state: "Pending", reason: "", taskRuns: [], skipped: null };
    const found = byName.get(ref.name);
    if (found) entry.taskRuns.push(found);
    states.set(ref.pipelineTaskName, entry);
  }
  for (const [, entry] of states) {
    const runs = entry.taskRuns;
    const last = runs[runs.length - 1];
    if (!last) continue;
    const all = runs.map(runState);
    entry.state = all.includes("Running") ? "Running" : all.includes("Failed") || all.includes("Timeout")
      ? (all.includes("Timeout") ? "Timeout" : "Failed") : all.every((s) => s === "Succeeded") ? "Succeeded" : all[all.length - 1];
    entry.reason = condition(last).reason || entry.state;
  }
  for (const skipped of (run.status && run.status.skippedTasks) || []) {
    states.set(skipped.name, { state: "Skipped", reason: skipped.reason || "Skipped", taskRuns: [], skipped });
  }
  return states;
}

/** The task graph of a Pipeline spec: nodes {name, final, task} and edges {from, to, kind}; from the
 * run's childReferences alone (no edges) when the spec was not kept. */
export function graphOf(spec, run) {
  const nodes = [];
  const edges = [];
  if (spec && (spec.tasks || spec.finally)) {
    for (const [list, final] of [[spec.tasks || [], false], [spec.finally || [], true]]) {
      for (const task of list) nodes.push({ name: task.name, final, task });
    }
    const known = new Set(nodes.map((n) => n.name));
    for (const node of nodes) {
      const from = new Map();
      for (const name of node.task.runAfter || []) from.set(name, "runAfter");
      const refs = JSON.stringify([node.task.params || [], node.task.when || [], node.task.matrix || {}]);
      for (const found of refs.matchAll(RESULT_REF)) if (!from.has(found[1])) from.set(found[1], "result");
      for (const [name, kind] of from) if (known.has(name) && name !== node.name) edges.push({ from: name, to: node.name, kind });
    }
  } else {
    const seen = new Set();
    for (const ref of (run.status && run.status.childReferences) || []) {
      if (!seen.has(ref.pipelineTaskName)) nodes.push({ name: ref.pipelineTaskName, final: false, task: {} });
      seen.add(ref.pipelineTaskName);
    }
    for (const skipped of (run.status && run.status.skippedTasks) || []) {
      if (!seen.has(skipped.name)) nodes.push({ name: skipped.name, final: false, task: {} });
      seen.add(skipped.name);
    }
  }
  return { nodes, edges };
}

/** A layered layout: a task's layer is the longest chain of edges before it (finally tasks after every
 * other layer); within a layer, tasks are ordered by the mean position of their parents. Returns
 * Map name → {layer, row} and the number of layers and of rows. */
export function layout(graph) {
  const parents = new Map(graph.nodes.map((n) => [n.name, []]));
  for (const edge of graph.edges) parents.get(edge.to).push(edge.from);
  const layer = new Map();
  const visiting = new Set();
  const depth = (name) => {
    if (layer.has(name)) return layer.get(name);
    if (visiting.has(name)) return 0; // a cycle (refused by the engine): stop here
    visiting.add(name);
    const found = Math.max(-1, ...parents.get(name).map(depth)) + 1;
    visiting.delete(name);
    layer.set(name, found);
    return found;
  };
  const regular = graph.nodes.filter((n) => !n.final);
  regular.forEach((n) => depth(n.name));
  const last = Math.max(-1, ...regular.map((n) => layer.get(n.name)));
  for (const node of graph.nodes.filter((n) => n.final)) {
    layer.set(node.name, last + 1 + Math.max(0, depth(node.name) - last - 1));
  }
  const layers = [];
  for (const node of graph.nodes) {
    const at = layer.get(node.name);
    (layers[at] = layers[at] || []).push(node.name);
  }
  const position = new Map();
  layers.forEach((names, at) => {
    const mean = (name) => {
      const rows = parents.get(name).filter((p) => position.has(p)).map((p) => position.get(p).row);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity;
    };
    const order = names.map((name, i) => [mean(name), i, name]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    order.forEach(([, , name], row) => position.set(name, { layer: at, row }));
  });
  const rows = Math.max(0, ...layers.map((names) => (names ? names.length : 0)));
  return { position, layers: layers.length, rows };
}
