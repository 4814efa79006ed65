// The Applications list (/ui/applications): tiles or rows, one page at a time from the server
// (limit + continue), filters in the address, live through /api/v1/stream/applications, j/k/enter
// and "/" from the keyboard. Each tile links to /ui/applications/:name.
import { h, clear } from "../dom.js";
import { api } from "../api.js";
import { badge, errorBox, keyboard, shortcutsHelp, spinner, timeAgo } from "../ui.js";
import { filterBar, countsBar, FILTER_KEYS, listQuery } from "./applications-filters.js";

const PAGE_SIZES = [50, 100, 250, 1000];
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000; // any size up to this from the address (limit=); the menu offers PAGE_SIZES
const IN_CLUSTER = "https://kubernetes.default.svc"; // Argo CD names it in-cluster

/** The tag (or digest) part of an image reference: "registry/web:1.4" → "1.4". */
export function imageTag(image) {
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(at + 1, at + 20);
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  return colon > slash ? image.slice(colon + 1) : "latest";
}

function destinationOf(app) {
  const d = (app.spec && app.spec.destination) || {};
  const cluster = d.name || (d.server === IN_CLUSTER ? "in-cluster" : d.server || "");
  return { cluster, namespace: d.namespace || "" };
}

function sourceOf(app) {
  const spec = app.spec || {};
  const source = spec.source || (spec.sources && spec.sources[0]) || {};
  return { repo: source.repoURL || "", path: source.path || source.chart || "", revision: source.targetRevision || "HEAD" };
}

function lastSync(app) {
  const op = (app.status && app.status.operationState) || {};
  return op.finishedAt || op.startedAt || "";
}

function images(app) {
  return (app.status && app.status.summary && app.status.summary.images) || [];
}

function status(app) {
  const s = app.status || {};
  return { health: (s.health && s.health.status) || "Unknown", sync: (s.sync && s.sync.status) || "Unknown" };
}

function imageChips(app) {
  const found = images(app);
  if (!found.length) return null;
  return h("ul", { class: "app-images", attrs: { "aria-label": "Images" } },
    found.map((image) => h("li", { class: "app-image", title: image }, h("span", { class: "mono" }, imageTag(image)))));
}

function tile(app) {
  const name = app.metadata.name;
  const { health, sync } = status(app);
  const dest = destinationOf(app);
  const src = sourceOf(app);
  const synced = lastSync(app);
  return h("li", { class: "app-tile", dataset: { name } },
    h("a", { class: "app-link", href: `/ui/applications/${encodeURIComponent(name)}`, attrs: { "aria-label": `Application ${name}: ${health}, ${sync}` } },
      h("div", { class: "app-head" }, h("span", { class: "app-name" }, name), h("span", { class: "app-project" }, app.spec.project || "default")),
      h("div", { class: "app-status" }, badge("health", health), badge("sync", sync)),
      h("dl", { class: "app-facts" },
        h("dt", {}, "Destination"), h("dd", { title: dest.cluster }, `${dest.cluster}${dest.namespace ? ` / ${dest.namespace}` : ""}`),
        h("dt", {}, "Source"), h("dd", { title: src.repo }, `${src.path || src.repo} @ ${src.revision}`),
        h("dt", {}, "Last sync"), h("dd", { title: synced }, synced ? timeAgo(synced) : "never")),
      imageChips(app)));
}

function row(app) {
  const name = app.metadata.name;
  const { health, sync } = status(app);
  const dest = destinationOf(app);
  const src = sourceOf(app);
  const synced = lastSync(app);
  return h("tr", { class: "app-row", dataset: { name } },
    h("td", {}, h("a", { class: "app-link", href: `/ui/applications/${encodeURIComponent(name)}`, attrs: { "aria-label": `Application ${name}: ${health}, ${sync}` } }, name)),
    h("td", {}, app.spec.project || "default"),
    h("td", {}, badge("health", health)),
    h("td", {}, badge("sync", sync)),
    h("td", { title: dest.cluster }, `${dest.cluster}${dest.namespace ? ` / ${dest.namespace}` : ""}`),
    h("td", { title: src.repo }, `${src.path || src.repo} @ ${src.revision}`),
    h("td", {}, imageChips(app)),
    h("td", { title: synced }, synced ? timeAgo(synced) : "never"));
}

function table(apps) {
  const heads = ["Name", "Project", "Health", "Sync", "Destination", "Source", "Images", "Last sync"];
  return h("table", { class: "app-table" },
    h("thead", {}, h("tr", {}, heads.map((head) => h("th", { scope: "col" }, head)))),
    h("tbody", {}, apps.map(row)));
}

export async function mount(root, ctx) {
  const query = { ...ctx.query };
  const mode = () => (query.view === "list" ? "list" : "tiles");
  const pageSize = () => {
    const asked = Number(query.limit);
    return Number.isInteger(asked) && asked >= 1 && asked <= MAX_PAGE ? asked : DEFAULT_PAGE;
  };
  const previous = []; // the continue tokens of the pages before this one (this visit only)
  let apps = [];
  let next = "";
  let loading = 0;
  let stopStream = null;
  let reloadTimer = null;

  const counts = h("div", { class: "app-counts-slot" });
  const body = h("div", { class: "app-body", attrs: { "aria-live": "polite", "aria-busy": "true" } });
  const pager = h("nav", { class: "app-pager", attrs: { "aria-label": "Pages" } });
  const filters = filterBar(query, { onChange: (changes) => apply(changes) });
  const modeButtons = ["tiles", "list"].map((m) => h("button", {
    type: "button", class: "button", attrs: { "aria-pressed": String(mode() === m) },
    onclick: () => apply({ view: m === "tiles" ? "" : m }, { keepPage: true }),
  }, m === "tiles" ? "Tiles" : "List"));
  const sizeSelect = h("select", { class: "input", attrs: { "aria-label": "Applications per page" },
    onchange: (event) => apply({ limit: Number(event.target.value) === DEFAULT_PAGE ? "" : event.target.value }) },
    [...new Set([...PAGE_SIZES, pageSize()])].sort((a, b) => a - b)
      .map((n) => h("option", { value: String(n), selected: n === pageSize() }, `${n} per page`)));

  root.appendChild(h("section", { class: "apps" },
    h("div", { class: "apps-top" }, h("h1", {}, "Applications"),
      h("div", { class: "apps-tools", attrs: { role: "group", "aria-label": "Display" } }, modeButtons, sizeSelect)),
    filters.element, counts, body, pager));

  function apply(changes, { keepPage = false } = {}) {
    Object.assign(query, changes);
    for (const [k, v] of Object.entries(changes)) if (v === "" || v === undefined) delete query[k];
    if (!keepPage) { delete query.continue; previous.length = 0; }
    ctx.setQuery({ ...changes, ...(keepPage ? {} : { continue: "" }) });
    modeButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(mode() === (i ? "list" : "tiles"))));
    if (keepPage && !("limit" in changes)) { render(); return; }
    load();
    if (!("view" in changes)) { listen(); filters.sync(query); }
  }

  function render() {
    clear(body);
    body.setAttribute("aria-busy", "false");
    if (!apps.length) {
      body.appendChild(h("p", { class: "empty" }, FILTER_KEYS.some((k) => query[k]) ? "No Applications match these filters." : "No Applications yet."));
    } else if (mode() === "list") {
      body.appendChild(table(apps));
    } else {
      body.appendChild(h("ul", { class: "app-tiles" }, apps.map(tile)));
    }
    clear(pager);
    // A deep link to a later page (continue= in the address) knows no page before it: it offers the first.
    const known = previous.length || !query.continue;
    pager.append(
      h("button", { type: "button", class: "button", disabled: !previous.length && !query.continue, onclick: () => turn(-1) },
        known ? "Previous page" : "First page"),
      h("span", { class: "app-page" }, known ? `Page ${previous.length + 1}` : "A later page"),
      h("button", { type: "button", class: "button", disabled: !next, onclick: () => turn(1) }, "Next page"));
  }

  function turn(step) {
    if (step > 0 && next) { previous.push(query.continue || ""); query.continue = next; }
    else if (step < 0) { query.continue = previous.length ? previous.pop() : ""; }
    if (!query.continue) delete query.continue;
    ctx.setQuery({ continue: query.continue || "" });
    load().then(() => focusItem(0));
  }

  async function load() {
    const mine = ++loading;
    body.setAttribute("aria-busy", "true");
    if (!apps.length) clear(body).appendChild(spinner("Loading Applications"));
    performance.mark("gitloop:apps:load");
    try {
      const list = await api.get("applications", { ...listQuery(query), limit: pageSize(), continue: query.continue });
      if (mine !== loading) return;
      apps = list.items || [];
      next = (list.metadata && list.metadata.continue) || "";
      render();
      performance.mark("gitloop:apps:rendered"); // read by bench/ui_apps_bench.py
      body.dataset.rendered = String(apps.length);
      // The counts come after the page: with 10,000 Applications they cost the server more than it.
      countsBar(counts, query, filters);
    } catch (err) {
      if (mine === loading) { clear(body).appendChild(errorBox(err)); body.setAttribute("aria-busy", "false"); }
    }
  }

  /** Whether app passes the status filters (the stream is asked without them, so that an Application
   * whose health or sync changes is seen leaving or entering the list). */
  function statusMatches(app) {
    const { health, sync } = status(app);
    return (!query.health || query.health.split(",").includes(health)) && (!query.sync || query.sync.split(",").includes(sync));
  }

  /** Live: a change to a shown Application replaces its tile; one that enters or leaves this page reloads it. */
  function listen() {
    if (stopStream) stopStream();
    const { health: _h, sync: _s, ...streamed } = listQuery(query);
    stopStream = api.events("stream/applications", streamed, (event) => {
      const change = event.result || event;
      const app = change.application;
      if (!app || !app.metadata) return;
      const name = app.metadata.name;
      const at = apps.findIndex((a) => a.metadata.name === name);
      const wanted = change.type !== "DELETED" && statusMatches(app);
      if (at >= 0 && wanted) {
        if (JSON.stringify(apps[at]) === JSON.stringify(app)) return; // the stream's opening ADDED of a shown one
        apps[at] = app;
        const old = body.querySelector(`[data-name="${CSS.escape(name)}"]`);
        if (!old) return;
        const focused = old.contains(document.activeElement);
        const fresh = mode() === "list" ? row(app) : tile(app);
        old.replaceWith(fresh);
        if (focused) fresh.querySelector("a.app-link").focus(); // a live change does not take the focus away
      } else if (at >= 0 || (wanted && inRange(name))) {
        scheduleReload();
      }
      if (change.type !== "ADDED" || at < 0) countsBar.schedule(counts, query, filters);
    });
  }

  function inRange(name) {
    if (!apps.length) return true;
    const first = previous.length ? apps[0].metadata.name : "";
    const last = next ? apps[apps.length - 1].metadata.name : "\uffff";
    return name >= first && name <= last;
  }

  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, 500);
  }

  function items() { return [...body.querySelectorAll("a.app-link")]; }
  function focusItem(index) {
    const links = items();
    if (links.length) links[Math.max(0, Math.min(index, links.length - 1))].focus();
  }
  function move(step) {
    const links = items();
    const at = links.indexOf(document.activeElement);
    focusItem(at < 0 ? 0 : at + step);
  }
  const stopKeys = keyboard({
    j: () => move(1), k: () => move(-1),
    "/": () => filters.focusSearch(),
    "?": () => shortcutsHelp([["j / k", "next / previous Application"], ["Enter", "open it"], ["/", "search by name"], ["?", "this help"]]),
  });

  await load();
  listen();
  return () => {
    stopKeys();
    if (stopStream) stopStream();
    clearTimeout(reloadTimer);
    countsBar.cancel();
  };
}
