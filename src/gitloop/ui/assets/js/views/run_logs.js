// The log panel of one step of a PipelineRun: lines streamed from /api/v1/stream/pipelineruns/{run}/logs
// as the step writes them (server-sent events, resumed after the last seq), ANSI colours rendered as
// classes, follow (keep the newest line in view), download, and search with highlighted matches.
import { h, clear } from "../dom.js";
import { api } from "../api.js";
import { parseLine, plainStyle, stripAnsi } from "../ansi.js";

/** Split `segments` ([{text, classes}]) at the matches of `needle` (lower-cased) in their joined text,
 * so each match can be wrapped in <mark>; returns [{text, classes, match}]. */
function highlight(segments, needle) {
  const text = segments.map((s) => s.text).join("");
  const ranges = [];
  if (needle) {
    const lower = text.toLowerCase();
    for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, at + needle.length)) ranges.push([at, at + needle.length]);
  }
  if (!ranges.length) return segments.map((s) => ({ ...s, match: false }));
  const out = [];
  let offset = 0;
  for (const segment of segments) {
    const end = offset + segment.text.length;
    let cut = offset;
    for (const [from, to] of ranges) {
      if (to <= cut || from >= end) continue;
      if (from > cut) out.push({ text: text.slice(cut, from), classes: segment.classes, match: false });
      const stop = Math.min(to, end);
      out.push({ text: text.slice(Math.max(from, cut), stop), classes: segment.classes, match: true });
      cut = stop;
    }
    if (cut < end) out.push({ text: text.slice(cut, end), classes: segment.classes, match: false });
    offset = end;
  }
  return out;
}

/** A log panel for `source` ("task/step") of `run`; returns {element, close()}. */
export function logPanel(run, source, { title = source, follow: startFollowing = true } = {}) {
  const lines = []; // {seq, raw, segments, el}
  const style = plainStyle();
  let following = startFollowing;
  let needle = "";
  let matches = [];
  let current = -1;
  let ended = false;

  const body = h("div", { class: "log-lines", attrs: { role: "log", "aria-label": `Log of ${title}`, tabindex: "0" } });
  const state = h("span", { class: "log-state", attrs: { "aria-live": "polite" } }, "Waiting for output…");
  const followButton = h("button", {
    type: "button", class: "button", attrs: { "aria-pressed": String(following) },
    onclick: () => setFollow(!following),
  }, "Follow");
  const count = h("span", { class: "log-count", attrs: { "aria-live": "polite" } });
  const search = h("input", {
    type: "search", class: "input log-search", placeholder: "Search the log", attrs: { "aria-label": "Search the log" },
    oninput: () => { needle = search.value.toLowerCase(); rehighlight(); },
    onkeydown: (event) => { if (event.key === "Enter") { event.preventDefault(); jump(event.shiftKey ? -1 : 1); } },
  });
  const previous = h("button", { type: "button", class: "button", attrs: { "aria-label": "Previous match" }, onclick: () => jump(-1) }, "↑");
  const next = h("button", { type: "button", class: "button", attrs: { "aria-label": "Next match" }, onclick: () => jump(1) }, "↓");
  const download = h("button", { type: "button", class: "button", onclick: save }, "Download");
  const element = h("section", { class: "log-panel", attrs: { "aria-label": `Step log ${title}` } },
    h("div", { class: "log-toolbar" },
      h("span", { class: "log-title mono" }, title), state,
      h("span", { class: "log-tools" }, search, previous, next, count, followButton, download)),
    body);

  body.addEventListener("scroll", () => {
    const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 24;
    if (following && !atBottom && body.dataset.scrolling !== "1") setFollow(false);
  });

  function setFollow(on) {
    following = on;
    followButton.setAttribute("aria-pressed", String(on));
    if (on) toBottom();
  }

  function toBottom() {
    body.dataset.scrolling = "1";
    body.scrollTop = body.scrollHeight;
    requestAnimationFrame(() => { body.dataset.scrolling = ""; });
  }

  function renderLine(line) {
    const parts = highlight(line.segments, needle).map((part) => {
      if (part.match) return h("mark", { class: ["log-match", part.classes] }, part.text);
      return part.classes ? h("span", { class: part.classes }, part.text) : document.createTextNode(part.text);
    });
    const el = h("div", { class: "log-line", dataset: { seq: String(line.seq) } },
      h("span", { class: "log-number", attrs: { "aria-hidden": "true" } }, String(lines.indexOf(line) + 1)),
      h("span", { class: "log-text" }, parts));
    if (line.el) line.el.replaceWith(el);
    line.el = el;
    return el;
  }

  function rehighlight() {
    matches = [];
    for (const line of lines) {
      const hit = needle && stripAnsi(line.raw).toLowerCase().includes(needle);
      if (hit || line.el.querySelector("mark")) renderLine(line);
      if (hit) matches.push(line);
    }
    current = -1;
    count.textContent = needle ? `${matches.length} ${matches.length === 1 ? "match" : "matches"}` : "";
    if (matches.length) jump(1);
  }

  function jump(step) {
    if (!matches.length) return;
    if (current >= 0 && matches[current]) matches[current].el.classList.remove("log-current");
    current = (current + step + matches.length) % matches.length;
    const line = matches[current];
    line.el.classList.add("log-current");
    setFollow(false);
    line.el.scrollIntoView({ block: "center" });
    count.textContent = `${current + 1} of ${matches.length}`;
  }

  function add(found) {
    const fragment = document.createDocumentFragment();
    for (const item of found) {
      if (lines.length && item.seq <= lines[lines.length - 1].seq) continue; // a resumed stream's repeat
      const line = { seq: item.seq, raw: item.text, segments: parseLine(item.text, style), el: null };
      lines.push(line);
      fragment.appendChild(renderLine(line));
      if (needle && stripAnsi(line.raw).toLowerCase().includes(needle)) matches.push(line);
    }
    body.appendChild(fragment);
    if (needle) count.textContent = `${matches.length} ${matches.length === 1 ? "match" : "matches"}`;
    state.textContent = ended ? "" : "Streaming";
    if (following) toBottom();
  }

  function save() {
    const text = lines.map((line) => `${stripAnsi(line.raw)}\n`).join("");
    const link = h("a", {
      href: URL.createObjectURL(new Blob([text], { type: "text/plain" })),
      download: `${run}-${source.replace(/\//g, "-")}.log`, class: "visually-hidden",
    }, "download");
    document.body.appendChild(link);
    link.click();
    setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 0);
  }

  clear(body);
  const close = api.events(`stream/pipelineruns/${encodeURIComponent(run)}/logs`, { source }, (event) => {
    if (event.type === "LINES") add(event.lines);
    else if (event.type === "END") {
      ended = true;
      state.textContent = lines.length ? "" : "No output";
      close();
    }
  });
  return { element, close, lineCount: () => lines.length };
}
