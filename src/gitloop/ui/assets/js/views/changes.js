// The Changes view: /ui/changes is the commit search (source commits the lineage knows, with their
// message's first line and author, and where each got to), /ui/changes/:sha one change's whole chain (js/views/change.js). The query (?q=) lives in the
// address; "/" focuses the search, j/k move the focus through the results (Enter follows the link).
import { h, clear } from "../dom.js";
import { api } from "../api.js";
import { badge, duration, errorBox, keyboard, shortcutsHelp, spinner } from "../ui.js";

const POLL_MS = 10000;

/** "0123456789ab" of a full sha. */
export function short(sha) {
  return (sha || "").slice(0, 12);
}

/** Seconds since the epoch → ISO time (ui.timeAgo and <time> take ISO). */
export function iso(seconds) {
  return seconds === null || seconds === undefined ? "" : new Date(seconds * 1000).toISOString();
}

/** A readable absolute time for seconds since the epoch. */
export function when(seconds) {
  return seconds === null || seconds === undefined ? "" : new Date(seconds * 1000).toLocaleString();
}

export function changeLink(sha, text) {
  return h("a", { href: `/ui/changes/${encodeURIComponent(sha)}`, class: "mono", attrs: { "aria-label": `Change ${short(sha)}` } }, text || short(sha));
}

export function runLink(name) {
  return h("a", { href: `/ui/pipelineruns/${encodeURIComponent(name)}`, class: "mono" }, name);
}

function row(change) {
  const runs = change.pipelineRuns.map((r) => h("li", {}, runLink(r.name), " ", badge("run", r.state)));
  const envs = change.environments.map((e) => h("li", {},
    h("a", { href: `/ui/applications/${encodeURIComponent(e.application)}` }, e.application), " ",
    badge("health", e.healthyAt ? "Healthy" : "Progressing")));
  return h("tr", { class: "ch-row", dataset: { sha: change.sourceCommit } },
    h("td", {}, changeLink(change.sourceCommit), change.message && h("div", { class: "ch-message", title: change.message }, change.message)),
    h("td", {}, h("div", { class: "ch-repo" }, change.repo || "—"), change.ref && h("div", { class: "ch-muted mono" }, change.ref)),
    h("td", { title: change.authorEmail || "" }, change.author || h("span", { class: "ch-muted" }, "—")),
    h("td", {}, h("ul", { class: "ch-list" }, change.images.map((i) => h("li", { class: "mono", title: i }, i)))),
    h("td", {}, h("ul", { class: "ch-list" }, runs)),
    h("td", {}, h("ul", { class: "ch-list" }, envs)),
    h("td", {}, change.leadTime === null ? h("span", { class: "ch-muted" }, "not yet") : duration(change.leadTime)),
    h("td", { title: when(change.lastSeen) }, when(change.lastSeen)));
}

function table(items) {
  if (!items.length) return h("p", { class: "empty" }, "No change matches.");
  const head = ["Commit", "Repository", "Author", "Images", "PipelineRuns", "Environments", "Lead time", "Last seen"];
  return h("table", { class: "ch-table", attrs: { "aria-label": "Changes" } },
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, items.map(row)));
}

async function mountSearch(root, ctx) {
  let query = ctx.query.q || "";
  let shown = "";
  let selected = -1;
  const results = h("div", { class: "ch-results", attrs: { "aria-live": "polite" } }, spinner());
  const input = h("input", {
    type: "search", class: "input ch-search", value: query, placeholder: "sha prefix, message, author, repository, image tag, run, application",
    attrs: { "aria-label": "Search changes" },
  });
  const form = h("form", { class: "ch-form", attrs: { role: "search" }, onsubmit: (event) => {
    event.preventDefault();
    query = input.value.trim();
    ctx.setQuery({ q: query });
    load();
  } }, input, h("button", { type: "submit", class: "button button-primary" }, "Search"));
  let typing = null;
  input.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { query = input.value.trim(); ctx.setQuery({ q: query }, { replace: true }); load(); }, 300);
  });
  root.append(h("div", { class: "ch-view" },
    h("h1", {}, "Changes"),
    h("p", { class: "ch-muted" }, "Each source commit, from its push to Healthy in every environment. Open one for its whole chain."),
    form, results));

  let loading = 0;
  async function load() {
    const mine = ++loading;
    try {
      const answer = await api.get("changes", { q: query, limit: 50 });
      if (mine !== loading) return;
      const text = JSON.stringify(answer.items);
      if (text === shown) return;
      shown = text;
      clear(results).appendChild(table(answer.items));
      selected = -1;
    } catch (err) {
      if (mine === loading) { shown = ""; clear(results).appendChild(errorBox(err)); }
    }
  }

  function rows() { return [...results.querySelectorAll("tr.ch-row")]; }
  function select(step) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, selected + step));
    all.forEach((r, i) => r.classList.toggle("ch-selected", i === selected));
    all[selected].querySelector("a").focus();
  }
  const keys = keyboard({
    "/": () => input.focus(),
    j: () => select(1),
    k: () => select(-1),
    "?": () => shortcutsHelp([["/", "search"], ["j / k", "next / previous change"], ["Enter", "open the change"]]),
  });
  await load();
  const timer = setInterval(() => { if (!document.hidden) load(); }, POLL_MS);
  return () => { clearInterval(timer); clearTimeout(typing); keys(); };
}

export async function mount(root, ctx) {
  if (ctx.params.sha) {
    const detail = await import("./change.js");
    return detail.mount(root, ctx);
  }
  return mountSearch(root, ctx);
}
