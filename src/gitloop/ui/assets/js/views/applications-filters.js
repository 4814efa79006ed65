// The Applications list's filter bar (name search, project, sync, health, cluster, namespace, labels;
// every value kept in the address) and its health/sync counts bar, read from
// /api/v1/applications-summary for the same filters over every page.
import { h, clear } from "../dom.js";
import { api } from "../api.js";
import { badge, errorBox } from "../ui.js";

export const FILTER_KEYS = ["search", "project", "sync", "health", "cluster", "namespace", "labels"];
const HEALTH = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"];
const SYNC = ["Synced", "OutOfSync", "Unknown"];

/** The API parameters (gitloop.gitops.query) of the address's filters. */
export function listQuery(query) {
  return {
    search: query.search, projects: query.project, sync: query.sync, health: query.health,
    cluster: query.cluster, namespace: query.namespace, selector: query.labels,
  };
}

const IN_CLUSTER = "https://kubernetes.default.svc"; // Argo CD names it in-cluster

function select(label, key, options, query, onChange) {
  const el = h("select", { class: "input", name: key, attrs: { "aria-label": label },
    onchange: () => onChange({ [key]: el.value }) },
  h("option", { value: "" }, `${label}: all`),
  options.map((o) => h("option", { value: o, selected: query[key] === o }, o === IN_CLUSTER ? "in-cluster" : o)));
  return el;
}

/** The filter bar: {element, focusSearch(), sync(query) (after the address changed), setOptions(summary)}. */
export function filterBar(query, { onChange }) {
  let searchTimer = null;
  const search = h("input", { type: "search", class: "input filter-search", name: "search", value: query.search || "",
    placeholder: "Search by name  ( / )", attrs: { "aria-label": "Search Applications by name" },
    oninput: () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => onChange({ search: search.value.trim() }), 250); },
    onkeydown: (event) => { if (event.key === "Escape") search.blur(); } });
  const labels = h("input", { type: "text", class: "input filter-labels", name: "labels", value: query.labels || "",
    placeholder: "Labels: team=web,tier!=db", attrs: { "aria-label": "Filter by labels" },
    onchange: () => onChange({ labels: labels.value.trim() }) });
  const health = select("Health", "health", HEALTH, query, onChange);
  const sync = select("Sync", "sync", SYNC, query, onChange);
  const dynamic = {
    project: h("span", {}, select("Project", "project", query.project ? [query.project] : [], query, onChange)),
    cluster: h("span", {}, select("Cluster", "cluster", query.cluster ? [query.cluster] : [], query, onChange)),
    namespace: h("span", {}, select("Namespace", "namespace", query.namespace ? [query.namespace] : [], query, onChange)),
  };
  const reset = h("button", { type: "button", class: "button button-quiet", onclick: () => {
    onChange(Object.fromEntries(FILTER_KEYS.map((k) => [k, ""])));
  } }, "Clear filters");
  const element = h("form", { class: "app-filters", attrs: { role: "search", "aria-label": "Filter Applications" },
    onsubmit: (event) => { event.preventDefault(); onChange({ search: search.value.trim(), labels: labels.value.trim() }); } },
  search, dynamic.project, sync, health, dynamic.cluster, dynamic.namespace, labels, reset);

  return {
    element,
    focusSearch: () => { search.focus(); search.select(); },
    sync(now) {
      if (document.activeElement !== search) search.value = now.search || "";
      labels.value = now.labels || "";
      health.value = now.health || "";
      sync.value = now.sync || "";
      for (const key of ["project", "cluster", "namespace"]) dynamic[key].firstChild.value = now[key] || "";
    },
    /** The choices of project, cluster and namespace: those the summary found. */
    setOptions(summary, now) {
      const labelsOf = { project: "Project", cluster: "Cluster", namespace: "Namespace" };
      const found = { project: summary.projects, cluster: summary.clusters, namespace: summary.namespaces };
      for (const key of Object.keys(dynamic)) {
        const values = [...new Set([...(found[key] || []), ...(now[key] ? [now[key]] : [])])].sort();
        const had = dynamic[key].firstChild;
        const focused = document.activeElement === had;
        const fresh = select(labelsOf[key], key, values, now, onChange);
        clear(dynamic[key]).appendChild(fresh);
        if (focused) fresh.focus();
      }
    },
  };
}

let timer = null;
let counting = 0;

/** Fill el with the counts of the Applications the filters select (every page); the summary, or null
 * (failed, or overtaken by a later call). */
export async function countsBar(el, query, bar) {
  const mine = ++counting;
  let summary;
  try {
    summary = await api.get("applications-summary", listQuery(query));
  } catch (err) {
    if (mine === counting) clear(el).appendChild(errorBox(err));
    return null;
  }
  if (mine !== counting) return null;
  const group = (kind, counts) => Object.entries(counts).filter(([, n]) => n).map(([value, n]) =>
    h("li", { class: "count" }, badge(kind, value), h("span", { class: "count-n", attrs: { "aria-label": `${value}: ${n}` } }, String(n))));
  clear(el).appendChild(h("div", { class: "app-counts", attrs: { role: "group", "aria-label": "Counts" } },
    h("span", { class: "count-total" }, `${summary.total} Application${summary.total === 1 ? "" : "s"}`),
    h("span", { class: "count-label" }, "Health"),
    h("ul", { class: "count-group", attrs: { "aria-label": "Health" } }, group("health", summary.health)),
    h("span", { class: "count-label" }, "Sync"),
    h("ul", { class: "count-group", attrs: { "aria-label": "Sync" } }, group("sync", summary.sync))));
  if (bar) bar.setOptions(summary, query);
  performance.mark("gitloop:apps:counted"); // read by bench/ui_apps_bench.py
  return summary;
}

/** Refresh the counts two seconds after the last of a burst of changes (the stream's). */
countsBar.schedule = (el, query, bar) => {
  clearTimeout(timer);
  timer = setTimeout(() => countsBar(el, query, bar), 2000);
};
countsBar.cancel = () => clearTimeout(timer);
