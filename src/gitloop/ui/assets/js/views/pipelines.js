// The Pipelines view: /ui/pipelineruns lists the PipelineRuns live (the server-sent event stream
// /api/v1/stream/pipelineruns), with filters kept in the address (pipeline, status, label, q); the
// route /ui/pipelineruns/:name shows one run (pipelinerun.js).
import { h, append, clear } from "../dom.js";
import { api } from "../api.js";
import { badge, duration, keyboard, shortcutsHelp, timeAgo } from "../ui.js";
import { mount as mountRun } from "./pipelinerun.js";
import { badgeValue, durationOf, pipelineOf, runState, sourceCommit, startTime, triggerOf } from "./run_model.js";

const STATES = ["Running", "Pending", "Succeeded", "Failed", "Cancelled", "Timeout"];
const LIMIT = 500;

export async function mount(root, ctx) {
  return ctx.params.name ? mountRun(root, ctx) : mountList(root, ctx);
}

function mountList(root, ctx) {
  const filters = { pipeline: ctx.query.pipeline || "", status: ctx.query.status || "", label: ctx.query.label || "", q: ctx.query.q || "" };
  const runs = new Map();
  let closeStream = null;
  let selected = 0;
  let drawing = 0;

  const pipelineSelect = h("select", { class: "input", attrs: { "aria-label": "Pipeline" }, onchange: () => change({ pipeline: pipelineSelect.value }) });
  const statusSelect = h("select", { class: "input", attrs: { "aria-label": "Status" }, onchange: () => change({ status: statusSelect.value }) },
    h("option", { value: "" }, "Any status"), STATES.map((s) => h("option", { value: s }, s)));
  statusSelect.value = filters.status;
  const labelInput = h("input", {
    type: "text", class: "input", value: filters.label, placeholder: "key=value,…",
    attrs: { "aria-label": "Label selector" },
    onchange: () => change({ label: labelInput.value.trim() }),
  });
  const searchInput = h("input", {
    type: "search", class: "input runs-search", value: filters.q, placeholder: "Search runs",
    attrs: { "aria-label": "Search runs" },
    oninput: () => change({ q: searchInput.value }, { replace: Boolean(filters.q) }),
  });
  const counts = h("p", { class: "runs-count", attrs: { "aria-live": "polite" } });
  const tbody = h("tbody", {});
  const problem = h("div", {});
  root.append(h("div", { class: "runs-page" },
    h("h1", {}, "Pipeline runs"),
    h("form", { class: "runs-filters", attrs: { role: "search", "aria-label": "Filter runs" }, onsubmit: (e) => e.preventDefault() },
      pipelineSelect, statusSelect, labelInput, searchInput,
      h("button", { type: "button", class: "button button-quiet", onclick: () => reset() }, "Clear filters")),
    counts, problem,
    h("table", { class: "runs-table", attrs: { "aria-label": "Pipeline runs" } },
      h("thead", {}, h("tr", {}, ["Status", "Name", "Pipeline", "Trigger", "Source commit", "Started", "Duration"]
        .map((c) => h("th", { attrs: { scope: "col" } }, c)))),
      tbody)));

  function change(changes, options) {
    const restream = "label" in changes && changes.label !== filters.label;
    Object.assign(filters, changes);
    ctx.setQuery(changes, options);
    if (restream) connect();
    draw();
  }

  function reset() {
    for (const [el, key] of [[pipelineSelect, "pipeline"], [statusSelect, "status"], [labelInput, "label"], [searchInput, "q"]]) el.value = "";
    change({ pipeline: "", status: "", label: "", q: "" });
  }

  function visible() {
    const q = filters.q.toLowerCase();
    return [...runs.values()]
      .filter((run) => !filters.pipeline || pipelineOf(run) === filters.pipeline)
      .filter((run) => !filters.status || runState(run) === filters.status)
      .filter((run) => !q || run.metadata.name.toLowerCase().includes(q) || pipelineOf(run).toLowerCase().includes(q) || sourceCommit(run).startsWith(q))
      .sort((a, b) => (startTime(b) || "").localeCompare(startTime(a) || "") || b.metadata.name.localeCompare(a.metadata.name));
  }

  function drawPipelines() {
    const names = [...new Set([...runs.values()].map(pipelineOf).concat(filters.pipeline ? [filters.pipeline] : []))].filter(Boolean).sort();
    const shown = [...pipelineSelect.options].map((o) => o.value).join("\n");
    if (shown === ["", ...names].join("\n")) return;
    append(clear(pipelineSelect), [h("option", { value: "" }, "Any pipeline"), names.map((n) => h("option", { value: n }, n))]);
    pipelineSelect.value = filters.pipeline;
  }

  function row(run, index) {
    const name = run.metadata.name;
    const sha = sourceCommit(run);
    const spent = durationOf(run);
    const href = `/ui/pipelineruns/${encodeURIComponent(name)}`;
    return h("tr", { class: ["runs-row", index === selected && "runs-row-selected"], dataset: { name, state: runState(run) } },
      h("td", {}, badge("run", badgeValue(run))),
      h("td", {}, h("a", { href, class: "runs-name" }, name)),
      h("td", {}, pipelineOf(run)),
      h("td", { class: "run-muted" }, triggerOf(run)),
      h("td", {}, sha ? h("a", { class: "mono", href: `/ui/changes/${sha}`, attrs: { "aria-label": `Change ${sha.slice(0, 12)}` } }, sha.slice(0, 12)) : ""),
      h("td", { title: startTime(run) }, timeAgo(startTime(run))),
      h("td", { class: "runs-duration" }, spent === null ? "" : duration(spent)));
  }

  function draw() {
    drawing = 0;
    drawPipelines();
    const shown = visible();
    selected = Math.min(selected, Math.max(0, shown.length - 1));
    append(clear(tbody), [shown.length ? shown.map(row)
      : h("tr", {}, h("td", { class: "empty", attrs: { colspan: "7" } }, runs.size ? "No run matches the filters." : "No pipeline runs yet."))]);
    const running = shown.filter((r) => runState(r) === "Running").length;
    counts.textContent = `${shown.length} of ${runs.size} runs${running ? ` · ${running} running` : ""}`;
  }

  function later() {
    if (!drawing) drawing = requestAnimationFrame(draw);
  }

  function connect() {
    if (closeStream) closeStream();
    runs.clear();
    clear(problem);
    closeStream = api.events("stream/pipelineruns", { labelSelector: filters.label, limit: LIMIT }, (event) => {
      const name = event.object && event.object.metadata && event.object.metadata.name;
      if (!name) return;
      if (event.type === "DELETED") runs.delete(name);
      else runs.set(name, event.object);
      later();
    });
  }

  function move(by) {
    const count = tbody.querySelectorAll(".runs-row").length;
    if (!count) return;
    selected = (selected + by + count) % count;
    draw();
    const link = tbody.querySelectorAll(".runs-name")[selected];
    if (link) link.focus();
  }

  connect();
  draw();
  const ticker = setInterval(() => {
    for (const tr of tbody.querySelectorAll(".runs-row[data-state=Running]")) {
      const spent = durationOf(runs.get(tr.dataset.name) || {});
      if (spent !== null) tr.querySelector(".runs-duration").textContent = duration(spent);
    }
  }, 1000);
  const stopKeys = keyboard({
    j: () => move(1), k: () => move(-1),
    "/": () => searchInput.focus(),
    "?": () => shortcutsHelp([["j / k", "next / previous run"], ["Enter", "open the focused run"], ["/", "search"], ["?", "this help"]]),
  });
  return () => {
    if (closeStream) closeStream();
    if (drawing) cancelAnimationFrame(drawing);
    clearInterval(ticker);
    stopKeys();
  };
}
