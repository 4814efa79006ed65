// The Environments view: /ui/environments lists every PromotionChain and application family (the server's
// /api/v1/environments says the grouping rule) with what runs in each stage; /ui/environments/:chain shows
// one, with its recent promotions. Live: the Application stream refreshes the stages at once, and the
// stages and promotions are polled every 2 s. Approve / Reject / Promote are offered only where
// ctx.can says yes; a refusal (the author approving: 403) shows the server's reason in the stage.
import { h, clear } from "../dom.js";
import { api } from "../api.js";
import { badge, errorBox, keyboard, shortcutsHelp, spinner, toast } from "../ui.js";
import { changeLink, when } from "./changes.js";
import { OPEN_STATES, stageCard } from "./env_stage.js";

const POLL_MS = 2000;
const RECENT = 8;

function recent(group, promotions) {
  const done = promotions.filter((p) => p.chain === group.name && !OPEN_STATES.includes(p.state)).slice(0, RECENT);
  if (!done.length) return null;
  return h("section", { class: "env-recent", attrs: { "aria-label": `Recent promotions of ${group.name}` } },
    h("h3", {}, "Recent promotions"),
    h("table", { class: "ch-table" },
      h("thead", {}, h("tr", {}, ["Change", "From → to", "State", "Approvers", "Finished"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, done.map((p) => h("tr", {},
        h("td", {}, changeLink(p.sourceCommit)),
        h("td", {}, `${p.from} → ${p.to}`),
        h("td", {}, badge("run", p.state), p.message && h("span", { class: "ch-muted" }, ` ${p.message}`)),
        h("td", {}, p.approvals.map((a) => a.user).join(", ") || "—"),
        h("td", {}, when(p.finished)))))));
}

function groupView(group, promotions, permissions, handlers, detailed) {
  const mine = promotions.filter((p) => p.chain === group.name);
  const waiting = mine.filter((p) => p.state === "WaitingApproval").length;
  const title = group.kind === "chain" ? `PromotionChain ${group.name}` : `Application family ${group.name}`;
  const stages = group.stages.map((stage, index) => stageCard(stage, {
    group, index, upstream: index ? group.stages[index - 1] : null, promotions: mine,
    allowed: permissions[`${group.name}/${stage.name}`] || {}, act: handlers.act, promote: handlers.promote,
    refusals: handlers.refusals,
  }));
  return h("section", { class: "env-group", attrs: { "aria-label": title } },
    h("header", { class: "env-group-head" },
      h("h2", {}, detailed ? group.name : h("a", { href: `/ui/environments/${encodeURIComponent(group.name)}` }, group.name)),
      h("span", { class: "ch-muted" }, group.kind === "chain" ? "PromotionChain" : "application family (by name)"),
      waiting ? badge("run", `${waiting} waiting for approval`) : null),
    h("div", { class: "env-stages" }, stages),
    detailed ? recent(group, promotions) : null);
}

/** {"chain/stage": {approve, create}} for every stage shown, from ctx.can (cached by the app). */
async function permissionsOf(groups, ctx) {
  const found = {};
  await Promise.all(groups.flatMap((g) => g.stages.map(async (s) => {
    if (g.kind !== "chain") { found[`${g.name}/${s.name}`] = {}; return; }
    const object = `${g.name}/${s.name}`;
    const [approve, create] = await Promise.all([ctx.can("promotions", "approve", object), ctx.can("promotions", "create", object)]);
    found[object] = { approve, create };
  })));
  return found;
}

export async function mount(root, ctx) {
  const name = ctx.params.chain || "";
  const body = h("div", {}, spinner("Loading environments"));
  root.append(h("div", { class: "ch-view" },
    h("h1", {}, name ? `Environments: ${name}` : "Environments"),
    name ? h("p", {}, h("a", { href: "/ui/environments" }, "All environments")) : h("p", { class: "ch-muted" },
      "Each PromotionChain, and each family of Applications named <name>-<environment>, with what runs in every stage."),
    body));
  let groups = null;
  let promotions = [];
  let permissions = {};
  let shown = "";
  let stopped = false;
  const refusals = {};

  async function act(promotion, verb, button) {
    button.disabled = true;
    delete refusals[promotion.id];
    try {
      const done = await api.post(`promotions/${encodeURIComponent(promotion.id)}/${verb}`);
      toast(`${verb === "approve" ? "Approved" : "Rejected"}: ${promotion.id} is ${done.state}`, "ok");
    } catch (err) {
      refusals[promotion.id] = `${verb === "approve" ? "Approval" : "Rejection"} refused: ${err.message}`;
      toast(err.message, "error");
    }
    shown = "";
    await refresh();
  }

  async function promote(group, stage, upstream, button) {
    button.disabled = true;
    try {
      const started = await api.post("promotions", { target: group.name, to: stage.name, commit: upstream.sourceCommit });
      toast(`Promotion ${started.id}: ${started.state}`, "ok");
    } catch (err) {
      toast(`Promotion refused: ${err.message}`, "error");
      button.disabled = false;
      return;
    }
    shown = "";
    await refresh();
  }

  function draw() {
    const text = JSON.stringify([groups, promotions, permissions, refusals]);
    if (text === shown) return;
    shown = text;
    const focused = document.activeElement && root.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    clear(body);
    if (!groups.length) {
      body.append(h("p", { class: "empty" }, name ? `No environments named ${name} that you may see.` : "No PromotionChain or application family yet."));
      return;
    }
    const handlers = { act, promote, refusals };
    body.append(...groups.map((g) => groupView(g, promotions, permissions, handlers, Boolean(name))));
    const again = focused && body.querySelector(`[data-key="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }

  async function loadGroups() {
    const answer = name ? { items: [await api.get(`environments/${encodeURIComponent(name)}`)] } : await api.get("environments");
    permissions = await permissionsOf(answer.items, ctx);
    groups = answer.items;
  }

  async function loadPromotions() {
    try {
      promotions = (await api.get("promotions")).items;
    } catch (err) {
      if (err.status !== 404 && err.status !== 403) throw err; // no Applications served, or none to see
      promotions = [];
    }
  }

  async function refresh() {
    try {
      await Promise.all([loadGroups(), loadPromotions()]);
      if (!stopped) draw();
    } catch (err) {
      if (!stopped) { shown = ""; clear(body).appendChild(errorBox(err)); }
    }
  }

  await refresh();
  let quick = null;
  const closeStream = api.events("stream/applications", () => {
    if (quick) return;
    quick = setTimeout(async () => { quick = null; try { await loadGroups(); if (!stopped) draw(); } catch { /* the poll shows errors */ } }, 300);
  });
  const timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  const keys = keyboard({
    "?": () => shortcutsHelp([["Tab", "move between stages and their buttons"], ["?", "this help"]]),
  });
  return () => { stopped = true; clearInterval(timer); clearTimeout(quick); closeStream(); keys(); };
}
