// Shared widgets of every view: status badges, times, dialogs, toasts, error boxes, a spinner and
// keyboard shortcuts. Each returns plain DOM nodes built with h() (no HTML strings).
import { h, clear } from "./dom.js";

const KINDS = {
  Healthy: "ok", Synced: "ok", Succeeded: "ok", True: "ok",
  Progressing: "busy", Running: "busy", Pending: "busy", Started: "busy", Terminating: "busy",
  Degraded: "bad", OutOfSync: "warn", Failed: "bad", Error: "bad", PipelineRunTimeout: "bad", False: "bad",
  Cancelled: "muted", Suspended: "muted", Missing: "warn", Unknown: "muted",
};
const ICONS = { ok: "✔", busy: "◔", bad: "✖", warn: "▲", muted: "●" };

/** A status badge: kind is "health", "sync" or "run"; colour and an icon say the state, text says it too. */
export function badge(kind, value) {
  const text = value || "Unknown";
  const tone = KINDS[text] || "muted";
  return h("span", { class: ["badge", `badge-${tone}`], dataset: { kind, value: text }, title: `${kind}: ${text}` },
    h("span", { class: "badge-icon", attrs: { "aria-hidden": "true" } }, ICONS[tone]), text);
}

/** "3m ago" for an ISO time ("" when there is none); the full time is the element's title where shown. */
export function timeAgo(iso) {
  if (!iso) return "";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (Number.isNaN(seconds)) return "";
  if (seconds < 0) return "just now";
  return `${duration(seconds)} ago`;
}

/** "45s", "3m 20s", "2h 5m", "4d 3h" for a number of seconds. */
export function duration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return "";
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ""}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor(s % 3600 / 60) ? ` ${Math.floor(s % 3600 / 60)}m` : ""}`;
  return `${Math.floor(s / 86400)}d${Math.floor(s % 86400 / 3600) ? ` ${Math.floor(s % 86400 / 3600)}h` : ""}`;
}

/** A modal dialog; resolves with the value of the action chosen (null when dismissed with Escape).
 * actions: [{label, value, kind: "primary"|"danger"|undefined, disabled}] */
export function dialog({ title, body, actions = [{ label: "Close", value: null }] }) {
  return new Promise((resolve) => {
    const before = document.activeElement;
    const buttons = actions.map((action) => h("button", {
      type: "button", class: ["button", action.kind && `button-${action.kind}`], disabled: Boolean(action.disabled),
      onclick: () => done(action.value),
    }, action.label));
    const box = h("dialog", { class: "dialog", attrs: { "aria-label": title } },
      h("h2", { class: "dialog-title" }, title),
      h("div", { class: "dialog-body" }, body),
      h("div", { class: "dialog-actions" }, buttons));
    box.addEventListener("cancel", (event) => { event.preventDefault(); done(null); });
    function done(value) {
      box.close();
      box.remove();
      if (before && before.focus) before.focus();
      resolve(value);
    }
    box.buttons = buttons;
    document.body.appendChild(box);
    box.showModal();
  });
}

/** Ask the user to type name to confirm something destructive; resolves true when they did. */
export function confirmTyped(name, { title = "Confirm", message = "" } = {}) {
  const input = h("input", { type: "text", class: "input", autocomplete: "off", attrs: { "aria-label": `Type ${name} to confirm` } });
  const body = [message && h("p", {}, message), h("p", {}, "Type ", h("code", {}, name), " to confirm."), input];
  const shown = dialog({ title, body, actions: [
    { label: "Cancel", value: false }, { label: "Confirm", value: true, kind: "danger", disabled: true }] });
  const box = input.closest("dialog");
  const confirm = box.buttons[1];
  input.addEventListener("input", () => { confirm.disabled = input.value !== name; });
  input.addEventListener("keydown", (event) => { if (event.key === "Enter" && input.value === name) confirm.click(); });
  input.focus();
  return shown;
}

/** A short message in the corner (kind: "info", "ok", "error"); gone after a few seconds. */
export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: ["toast", `toast-${kind}`] }, message);
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
  return item;
}

/** An error shown in place of what could not be loaded (role=alert: read out, and findable by tests). */
export function errorBox(err) {
  const status = err && err.status ? `HTTP ${err.status}: ` : "";
  return h("div", { class: "error-box", attrs: { role: "alert" } }, status, (err && err.message) || String(err));
}

export function spinner(label = "Loading") {
  return h("div", { class: "spinner", attrs: { role: "progressbar", "aria-label": label } });
}

/** Keyboard shortcuts while the returned function has not been called: map of key → handler.
 * Keys typed into inputs are ignored except Escape; "?" shows the map's help when given a "help" list. */
export function keyboard(map) {
  const onKey = (event) => {
    const typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing && event.key !== "Escape") return;
    if (document.querySelector("dialog[open]")) return;
    const handler = map[event.key];
    if (handler) { event.preventDefault(); handler(event); }
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}

/** A dialog listing keyboard shortcuts: [[key, what], ...]. */
export function shortcutsHelp(rows) {
  const table = h("table", { class: "shortcuts" }, h("tbody", {},
    rows.map(([key, what]) => h("tr", {}, h("td", {}, h("kbd", {}, key)), h("td", {}, what)))));
  return dialog({ title: "Keyboard shortcuts", body: table });
}

/** Replace el's content with a spinner while promise runs, then with render(result) or an error box. */
export async function loadInto(el, promise, render) {
  clear(el).appendChild(spinner());
  try {
    const result = await promise;
    clear(el);
    const shown = render(result);
    if (shown) el.appendChild(shown);
    return result;
  } catch (err) {
    clear(el).appendChild(errorBox(err));
    return undefined;
  }
}
