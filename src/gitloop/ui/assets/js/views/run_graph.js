// The task graph of a PipelineRun as SVG: one node per pipeline task (coloured and labelled by its live
// state), edges from runAfter and result references, laid out in layers by run_model.layout. Nodes are
// buttons (Tab, Enter/Space) whose accessible name says the task and its state.
import { graphOf, layout } from "./run_model.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 168;
const NODE_H = 40;
const GAP_X = 56;
const GAP_Y = 18;
const PAD = 12;
const ICONS = { Succeeded: "✔", Failed: "✖", Timeout: "⏱", Running: "◔", Pending: "○", Skipped: "⤼", Cancelled: "■" };

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  for (const child of children) if (child) el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  return el;
}

function shorten(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Draw the graph of `spec` (a Pipeline spec, or null) for `run` into a new <svg>.
 * Returns {element, update(states, selected)} to recolour nodes as the run changes. */
export function taskGraph(spec, run, onSelect) {
  const graph = graphOf(spec, run);
  const placed = layout(graph);
  const width = PAD * 2 + Math.max(1, placed.layers) * (NODE_W + GAP_X) - GAP_X;
  const height = PAD * 2 + Math.max(1, placed.rows) * (NODE_H + GAP_Y) - GAP_Y;
  const at = (name) => {
    const p = placed.position.get(name);
    return { x: PAD + p.layer * (NODE_W + GAP_X), y: PAD + p.row * (NODE_H + GAP_Y) };
  };
  const root = svg("svg", {
    class: "run-graph", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "group", "aria-label": "Task graph",
  });
  const defs = svg("defs", {}, svg("marker", {
    id: "run-graph-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
  }, svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "run-graph-arrow" })));
  root.appendChild(defs);
  for (const edge of graph.edges) {
    const a = at(edge.from);
    const b = at(edge.to);
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const bend = Math.max(24, (x2 - x1) / 2);
    root.appendChild(svg("path", {
      d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`,
      class: `run-graph-edge run-graph-edge-${edge.kind}`, "marker-end": "url(#run-graph-arrow)",
      "data-from": edge.from, "data-to": edge.to,
    }));
  }
  const nodes = new Map();
  for (const node of graph.nodes) {
    const { x, y } = at(node.name);
    const icon = svg("text", { x: x + 12, y: y + 25, class: "run-graph-icon", "aria-hidden": "true" });
    const label = svg("text", { x: x + 30, y: y + 18, class: "run-graph-name" }, shorten(node.name, 19));
    const status = svg("text", { x: x + 30, y: y + 32, class: "run-graph-status" });
    const box = svg("rect", { x, y, width: NODE_W, height: NODE_H, rx: 6, class: "run-graph-box" });
    const title = svg("title", {}, node.name);
    const group = svg("g", {
      class: "run-graph-node", tabindex: 0, role: "button", "data-task": node.name, "data-final": node.final ? "true" : null,
    }, title, box, icon, label, status);
    const choose = () => onSelect(node.name);
    group.addEventListener("click", choose);
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(); }
    });
    nodes.set(node.name, { group, icon, status, final: node.final });
    root.appendChild(group);
  }

  /** Recolour the nodes from `states` (run_model.taskStates) and mark `selected`. */
  function update(states, selected, runDone) {
    for (const [name, node] of nodes) {
      const found = states.get(name);
      const state = found ? found.state : runDone ? "NotRun" : "Pending";
      const reason = found && found.reason && found.reason !== state ? found.reason : "";
      node.group.setAttribute("class", `run-graph-node run-graph-${state}${name === selected ? " run-graph-selected" : ""}`);
      node.group.setAttribute("aria-label", `Task ${name}: ${state}${reason ? ` (${reason})` : ""}${node.final ? ", finally" : ""}`);
      node.group.setAttribute("aria-pressed", name === selected ? "true" : "false");
      node.icon.textContent = ICONS[state] || "·";
      node.status.textContent = shorten(reason ? `${state} · ${reason}` : state, 24);
    }
  }
  return { element: root, update, names: [...nodes.keys()] };
}
