// One stage of an environment group (js/views/environments.js): what runs there (image, config commit,
// source commit), its health and sync, what lets a change in (the gate), the promotions waiting to
// enter it with their approvals so far, and the Approve / Reject / Promote buttons the user may use.
// The buttons call the same /api/v1/promotions routes as `gitloop approve` and `gitloop promote`.
import { h } from "../dom.js";
import { badge, duration } from "../ui.js";
import { changeLink, short } from "./changes.js";

export const OPEN_STATES = ["Pending", "WaitingApproval", "Promoting"];

/** What lets a change into a stage, in words. */
export function gateText(gate) {
  if (gate.type === "approval") {
    const who = gate.roles.length ? ` from ${gate.roles.join(" or ")}` : "";
    const author = gate.excludeAuthor ? ", not the change's author" : "";
    return `${gate.requiredApprovals} approval${gate.requiredApprovals === 1 ? "" : "s"}${who}${author}`;
  }
  if (gate.type === "auto") {
    const soak = gate.soak ? `after ${duration(gate.soak)} Healthy upstream` : "as soon as upstream is Healthy";
    return `automatic, ${soak}${gate.verification ? `, once ${gate.verification} Succeeded` : ""}`;
  }
  return "written by the pipeline";
}

function imageList(images) {
  if (!images.length) return h("span", { class: "ch-muted" }, "—");
  return h("ul", { class: "ch-list" }, images.map((i) => h("li", { class: "mono", title: i }, i)));
}

function fact(label, value) {
  return h("div", { class: "env-fact" }, h("dt", {}, label), h("dd", { attrs: { "aria-label": label } }, value));
}

/** A waiting promotion with its approvals, (when allowed) its buttons — `act(promotion, verb, button)` runs
 * one — and the reason the server refused the last one, if it did. */
function waiting(promotion, gate, allowed, act, refusal) {
  const required = gate.type === "approval" ? gate.requiredApprovals : 0;
  const users = promotion.approvals.map((a) => a.user);
  const progress = required
    ? `${users.length} of ${required} approvals${users.length ? `: ${users.join(", ")}` : ""}`
    : promotion.message;
  const verbs = promotion.state === "WaitingApproval" && allowed.approve ? ["approve", "reject"] : [];
  return h("li", { class: "env-waiting", dataset: { promotion: promotion.id } },
    h("div", {}, badge("run", promotion.state), " ", changeLink(promotion.sourceCommit),
      promotion.author && h("span", { class: "ch-muted" }, ` by ${promotion.author}`)),
    h("div", { class: "env-progress", attrs: { "aria-label": `Approvals of ${promotion.id}` } }, progress),
    verbs.length ? h("div", { class: "env-buttons" }, verbs.map((verb) => h("button", {
      type: "button", class: ["button", verb === "approve" ? "button-primary" : "button-danger"],
      dataset: { key: `${verb}:${promotion.id}` },
      attrs: { "aria-label": `${verb === "approve" ? "Approve" : "Reject"} promotion of ${short(promotion.sourceCommit)} to ${promotion.to}` },
      onclick: (event) => act(promotion, verb, event.currentTarget),
    }, verb === "approve" ? "Approve" : "Reject"))) : null,
    refusal ? h("div", { class: "env-refusal", attrs: { role: "alert" } }, refusal) : null);
}

/** A stage card. ctx: {group, index, upstream, promotions, allowed: {approve, create}, act, promote,
 * refusals: {promotion id: the server's reason its last approval or rejection was refused}}. */
export function stageCard(stage, ctx) {
  const { group, upstream, promotions, allowed } = ctx;
  const open = promotions.filter((p) => p.to === stage.name && OPEN_STATES.includes(p.state));
  const canPromote = group.kind === "chain" && upstream && allowed.create && upstream.sourceCommit
    && upstream.sourceCommit !== stage.sourceCommit && !open.some((p) => p.sourceCommit === upstream.sourceCommit);
  const promote = canPromote ? h("button", {
    type: "button", class: "button", dataset: { key: `promote:${stage.name}` },
    attrs: { "aria-label": `Promote ${short(upstream.sourceCommit)} from ${upstream.name} to ${stage.name}` },
    onclick: (event) => ctx.promote(group, stage, upstream, event.currentTarget),
  }, `Promote ${short(upstream.sourceCommit)} here`) : null;
  return h("section", { class: "env-stage", attrs: { "aria-label": `Stage ${stage.name}` } },
    h("header", { class: "env-stage-head" },
      h("h3", {}, stage.name),
      h("a", { href: `/ui/applications/${encodeURIComponent(stage.application)}`, class: "env-app" }, stage.application)),
    h("div", { class: "env-badges" }, badge("health", stage.health), badge("sync", stage.sync)),
    h("dl", { class: "env-facts" },
      fact("Image", imageList(stage.images)),
      fact("Config commit", stage.revision ? h("span", { class: "mono", title: stage.revision }, short(stage.revision)) : "—"),
      fact("Source commit", stage.sourceCommit ? changeLink(stage.sourceCommit) : h("span", { class: "ch-muted" }, "not linked")),
      fact("Gate", gateText(stage.gate))),
    stage.sourceCommit && stage.deployedRevision && stage.deployedRevision !== stage.revision
      ? h("p", { class: "ch-muted env-note" }, `Deployed by its sync of ${short(stage.deployedRevision)}; the branch moved since without a change here.`)
      : null,
    open.length ? h("div", { class: "env-open" },
      h("h4", {}, "Waiting"),
      h("ul", { class: "ch-list", attrs: { "aria-label": `Waiting for ${stage.name}` } },
        open.map((p) => waiting(p, stage.gate, allowed, ctx.act, ctx.refusals[p.id])))) : null,
    promote);
}
