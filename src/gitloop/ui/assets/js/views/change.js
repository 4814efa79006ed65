// One change (/ui/changes/:sha): the source commit's message, author and whole chain with times, read from
// /api/v1/changes/{sha} — its build (push, PipelineRun, image) and, per environment, the config
// commit, sync, Healthy, post-sync runs and promotions with their approvers — and the lead time.
// Polled while the page is open, so a change still travelling shows each hop as it is recorded.
import { h, clear } from "../dom.js";
import { api } from "../api.js";
import { badge, duration, errorBox, spinner } from "../ui.js";
import { iso, runLink, short, when } from "./changes.js";

const POLL_MS = 3000;

function appLink(name) {
  return h("a", { href: `/ui/applications/${encodeURIComponent(name)}` }, name);
}

function state(status) {
  return status === "True" ? "Succeeded" : status === "False" ? "Failed" : "Running";
}

/** What an event says: [label nodes, detail nodes]. */
function describe(e) {
  const run = e.run ? runLink(e.run) : null;
  switch (e.hop) {
    case "commit": return [["Committed"], []];
    case "push": return [["Pushed", e.ref ? [" to ", h("span", { class: "mono" }, e.ref)] : ""], [e.listener && `EventListener ${e.listener}`]];
    case "pipelinerun": return [["PipelineRun ", run, " created"], [e.rerunOf && `rerun of ${e.rerunOf}`]];
    case "pipelinerun-started": return [["PipelineRun ", run, " started"], []];
    case "pipelinerun-finished": return [["PipelineRun ", run, " ", badge("run", state(e.status))], [e.image && ["built ", h("span", { class: "mono" }, e.image)]]];
    case "config-commit": return [["Config commit ", h("span", { class: "mono", title: e.commit }, short(e.commit))],
      [e.image && ["image ", h("span", { class: "mono" }, e.image)], e.file && [" in ", h("span", { class: "mono" }, e.file)]]];
    case "sync": return [["Synced ", h("span", { class: "mono", title: e.revision }, short(e.revision)), " ", badge("run", e.phase || "Unknown")], [e.message]];
    case "healthy": return [[badge("health", "Healthy")], []];
    case "post-sync": return [["Post-sync run ", run, " created"], []];
    case "post-sync-started": return [["Post-sync run ", run, " started"], []];
    case "post-sync-finished": return [["Post-sync run ", run, " ", badge("run", state(e.status))], []];
    case "promotion-created": return [[`Promotion from ${e.from} started`], [e.requestedBy && `requested by ${e.requestedBy}`, h("span", { class: "mono ch-muted" }, ` ${e.promotion}`)]];
    case "promotion-approved": return [["Approved by ", h("strong", {}, e.user)], []];
    default:
      if (e.hop.startsWith("promotion-")) {
        const ended = e.hop.slice("promotion-".length);
        const text = ended.charAt(0).toUpperCase() + ended.slice(1);
        return [["Promotion ", badge("run", text)], [e.rejectedBy && `by ${e.rejectedBy}`, e.message && ` ${e.message}`]];
      }
      return [[e.hop], []];
  }
}

function timeline(events, origin, label) {
  if (!events.length) return h("p", { class: "ch-muted" }, "Not reached yet.");
  return h("ol", { class: "ch-timeline", attrs: { "aria-label": label } }, events.map((e) => {
    const [what, details] = describe(e);
    const offset = origin !== null && typeof e.time === "number" ? `+${duration(e.time - origin)}` : "";
    return h("li", { class: ["ch-event", `ch-hop-${e.hop}`], dataset: { hop: e.hop } },
      h("span", { class: "ch-dot", attrs: { "aria-hidden": "true" } }),
      h("time", { class: "ch-time", datetime: iso(e.time), title: when(e.time) }, offset || when(e.time)),
      h("span", { class: "ch-what" }, what),
      h("span", { class: "ch-details ch-muted" }, details));
  }));
}

function approvals(promotion) {
  const users = promotion.approvals.map((a) => a.user);
  if (users.length) return ` — approved by ${users.join(", ")}`;
  return promotion.state === "WaitingApproval" ? " — no approval yet" : "";
}

function environment(env, origin) {
  const title = env.stage ? `${env.stage}` : env.application;
  const healthy = env.healthyAt !== null;
  const promotions = env.promotions.map((p) => h("li", {}, badge("run", p.state), " ",
    h("span", { class: "mono" }, p.id), approvals(p), p.author ? ` — author ${p.author}` : ""));
  return h("section", { class: "ch-env", attrs: { "aria-label": `Environment ${title}` } },
    h("header", { class: "ch-env-head" },
      h("h2", {}, title, env.stage && h("span", { class: "ch-muted" }, " · ", appLink(env.application))),
      !env.stage && appLink(env.application),
      healthy ? badge("health", "Healthy") : badge("run", "Pending"),
      h("span", { class: "ch-lead" }, env.leadTime === null ? "not Healthy yet" : `lead time ${duration(env.leadTime)}`)),
    promotions.length ? h("ul", { class: "ch-list ch-promotions", attrs: { "aria-label": `Promotions into ${title}` } }, promotions) : null,
    timeline(env.events, origin, `Timeline of ${title}`));
}

function render(change, asked) {
  const origin = change.build.length ? change.build[0].time : (change.environments[0] && change.environments[0].events[0] ? change.environments[0].events[0].time : null);
  const promoted = change.environments.flatMap((e) => e.promotions).map((p) => p.author).find(Boolean);
  const author = change.author ? (change.authorEmail ? `${change.author} <${change.authorEmail}>` : change.author) : (promoted || change.authorEmail);
  const lead = change.leadTime === null
    ? h("span", { class: "ch-muted" }, "not Healthy anywhere yet")
    : [h("strong", {}, duration(change.leadTime)), ` from the ${change.leadTimeFrom} to the first Healthy environment`];
  const runs = change.pipelineRuns.map((r) => h("li", {}, runLink(r.name), " ", badge("run", r.state)));
  return h("div", { class: "ch-view" },
    h("h1", {}, "Change ", h("span", { class: "mono", title: change.sourceCommit }, short(change.sourceCommit))),
    change.sourceCommit.startsWith(asked.toLowerCase()) ? null
      : h("p", { class: "ch-muted" }, "Config commit ", h("span", { class: "mono" }, short(asked)), " deployed this change."),
    h("dl", { class: "ch-facts" },
      h("div", {}, h("dt", {}, "Source commit"), h("dd", { class: "mono" }, change.sourceCommit)),
      change.fullMessage ? h("div", {}, h("dt", {}, "Message"), h("dd", {}, h("pre", { class: "ch-message" }, change.fullMessage))) : null,
      h("div", {}, h("dt", {}, "Repository"), h("dd", {}, change.repo || "—")),
      author ? h("div", {}, h("dt", {}, "Author"), h("dd", {}, author)) : null,
      h("div", {}, h("dt", {}, "Lead time"), h("dd", { attrs: { "aria-label": "Lead time" } }, lead)),
      h("div", {}, h("dt", {}, "PipelineRuns"), h("dd", {}, runs.length ? h("ul", { class: "ch-list" }, runs) : "—"))),
    h("section", { class: "ch-env ch-build", attrs: { "aria-label": "Build" } },
      h("header", { class: "ch-env-head" }, h("h2", {}, "Build")),
      timeline(change.build, origin, "Timeline of the build")),
    h("div", { class: "ch-envs" }, change.environments.length
      ? change.environments.map((env) => environment(env, origin))
      : h("p", { class: "empty" }, "No environment has this change yet.")),
    h("p", {}, h("a", { href: "/ui/changes" }, "All changes"), " · ",
      h("a", { href: `/api/trace/${encodeURIComponent(change.sourceCommit)}` }, "raw trace (JSON)")));
}

export async function mount(root, ctx) {
  const sha = ctx.params.sha;
  const body = h("div", {}, spinner(`Loading change ${short(sha)}`));
  root.append(body);
  let shown = "";
  let stopped = false;
  let timer = null;
  async function load() {
    try {
      const change = await api.get(`changes/${encodeURIComponent(sha)}`);
      if (stopped) return;
      const text = JSON.stringify(change);
      if (text !== shown) {
        shown = text;
        const focused = document.activeElement && root.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
        clear(body).appendChild(render(change, sha));
        const again = focused && body.querySelector(`a[href="${CSS.escape(focused)}"]`);
        if (again) again.focus();
      }
    } catch (err) {
      if (stopped) return;
      shown = "";
      clear(body).append(errorBox(err), h("p", {}, "Search for it among ", h("a", { href: "/ui/changes" }, "all changes"), "."));
      if (err.status === 404 || err.status === 400 || err.status === 403) return;
    }
    if (!stopped) timer = setTimeout(load, POLL_MS);
  }
  await load();
  return () => { stopped = true; clearTimeout(timer); };
}
