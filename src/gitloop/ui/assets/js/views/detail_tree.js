// Application detail: the resource tree — the Application's resources joined from its resource-tree,
// status.resources (sync per resource) and the last operation's hooks; laid out left to right in depth
// columns (parents centred on their children) and drawn as positioned buttons over SVG links, or as a list.

import { h } from '../dom.js';
import { badge } from '../ui.js';

const NODE_W = 240;
const NODE_H = 62;
const COL_GAP = 70;
const ROW_GAP = 14;
const SVG = 'http://www.w3.org/2000/svg';

/** ``group/kind/namespace/name``: a resource's key, as the ``resource=`` query holds it. */
export function resourceKey(r) {
  return `${r.group || ''}/${r.kind}/${r.namespace || ''}/${r.name}`;
}

/** The tree's nodes of ``app`` (Application object) and ``tree`` (ApplicationTree): a list of
 * ``{key, group, version, kind, namespace, name, health, sync, hook, managed, images, createdAt,
 * parents: [key]}``, the Application itself first (key ``app``). */
export function treeNodes(app, tree) {
  const status = app.status || {};
  const root = {
    key: 'app', kind: 'Application', group: 'argoproj.io', name: app.metadata.name, namespace: '',
    health: (status.health || {}).status || '', sync: (status.sync || {}).status || '', parents: [],
    managed: false, hook: '', images: [],
  };
  const nodes = new Map([[root.key, root]]);
  const byUid = new Map();
  const add = (r, extra) => {
    const key = resourceKey(r);
    const known = nodes.get(key) || { key, parents: [], hook: '', images: [], managed: false };
    Object.assign(known, {
      group: r.group || '', version: r.version || known.version || '', kind: r.kind,
      namespace: r.namespace || '', name: r.name,
    }, extra);
    nodes.set(key, known);
    return known;
  };
  for (const r of status.resources || []) {
    add(r, {
      sync: r.status || '', health: (r.health || {}).status || '', healthMessage: (r.health || {}).message || '',
      managed: true, requiresPruning: Boolean(r.requiresPruning),
    });
  }
  const results = ((status.operationState || {}).syncResult || {}).resources || [];
  for (const r of results) {
    if (!r.hookType) continue;
    const known = nodes.get(resourceKey(r));
    const hook = { hook: r.hookType, hookPhase: r.hookPhase || '' };
    if (known) Object.assign(known, hook);
    else add(r, { ...hook, sync: '', health: r.hookPhase === 'Failed' ? 'Degraded' : '' });
  }
  const live = (tree && tree.nodes) || [];
  for (const n of live) {
    const known = nodes.get(resourceKey(n));
    const found = add(n, {
      images: n.images || [], createdAt: n.createdAt || '', uid: n.uid || '',
      health: (n.health || {}).status || (known && known.health) || '',
      healthMessage: (n.health || {}).message || (known && known.healthMessage) || '',
      live: true,
    });
    if (n.uid) byUid.set(n.uid, found.key);
  }
  for (const n of live) {
    const key = resourceKey(n);
    const parents = (n.parentRefs || []).map((p) => byUid.get(p.uid) || resourceKey(p)).filter((k) => nodes.has(k));
    nodes.get(key).parents = parents;
  }
  for (const node of nodes.values()) {
    if (node.key !== 'app' && node.parents.length === 0) node.parents = ['app'];
  }
  return [...nodes.values()];
}

const ORDER = ['Namespace', 'ConfigMap', 'Secret', 'ServiceAccount', 'Service', 'Deployment', 'StatefulSet',
  'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod', 'EndpointSlice'];

function rank(node) {
  const i = ORDER.indexOf(node.kind);
  return `${i < 0 ? 50 : 10 + i}/${node.kind}/${node.name}`;
}

/** Positions of ``nodes``: ``{key → {col, row, order}}`` (order: depth-first) and the grid's ``cols``/``rows``. A node sits one
 * column right of its deepest parent; leaves take rows in depth-first order and a parent is centred on
 * the rows of the children it places (its first parent places it). */
export function layout(nodes) {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const children = new Map(nodes.map((n) => [n.key, []]));
  const depth = new Map();
  const depthOf = (key, seen = new Set()) => {
    if (depth.has(key)) return depth.get(key);
    if (seen.has(key)) return 0;
    seen.add(key);
    const node = byKey.get(key);
    const parents = node ? node.parents.filter((p) => byKey.has(p)) : [];
    const d = parents.length ? 1 + Math.max(...parents.map((p) => depthOf(p, seen))) : 0;
    depth.set(key, d);
    return d;
  };
  nodes.forEach((n) => depthOf(n.key));
  for (const n of nodes) {
    const placer = n.parents.find((p) => byKey.has(p));
    if (placer) children.get(placer).push(n);
  }
  for (const list of children.values()) list.sort((x, y) => (rank(x) < rank(y) ? -1 : 1));
  const at = new Map();
  let next = 0;
  const place = (node) => {
    if (at.has(node.key)) return at.get(node.key).row;
    at.set(node.key, { col: depth.get(node.key), row: next, order: at.size });
    const rows = children.get(node.key).filter((c) => !at.has(c.key)).map(place);
    const row = rows.length ? (Math.min(...rows) + Math.max(...rows)) / 2 : next++;
    at.get(node.key).row = row;
    return row;
  };
  const roots = nodes.filter((n) => !n.parents.some((p) => byKey.has(p)));
  roots.forEach(place);
  const cols = Math.max(0, ...[...at.values()].map((p) => p.col)) + 1;
  return { at, cols, rows: Math.max(next, 1) };
}

function nodeLabel(node) {
  const states = [node.health, node.sync, node.hook && `${node.hook} hook ${node.hookPhase || ''}`.trim()];
  return `${node.kind} ${node.name}${states.filter(Boolean).length ? ': ' + states.filter(Boolean).join(', ') : ''}`;
}

function nodeBody(node) {
  return [
    h('span', { class: 'dt-kind' }, node.kind, node.hook ? h('span', { class: 'dt-hook' }, `${node.hook} hook`) : null),
    h('span', { class: 'dt-name', attrs: { title: node.name } }, node.name),
    h('span', { class: 'dt-states' },
      node.health ? badge('health', node.health) : null,
      node.sync ? badge('sync', node.sync) : null,
      node.hookPhase ? badge('run', node.hookPhase) : null),
  ];
}

/** The tree as positioned buttons over SVG links; ``onOpen(node)`` when one is chosen. */
export function renderGraph(nodes, selected, onOpen) {
  const { at, cols, rows } = layout(nodes);
  const x = (p) => p.col * (NODE_W + COL_GAP);
  const y = (p) => p.row * (NODE_H + ROW_GAP);
  const width = cols * (NODE_W + COL_GAP) - COL_GAP;
  const height = rows * (NODE_H + ROW_GAP) - ROW_GAP;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'dt-links');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('aria-hidden', 'true');
  for (const node of nodes) {
    const to = at.get(node.key);
    for (const parent of node.parents) {
      const from = at.get(parent);
      if (!from || !to) continue;
      const x1 = x(from) + NODE_W;
      const y1 = y(from) + NODE_H / 2;
      const x2 = x(to);
      const y2 = y(to) + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      const path = document.createElementNS(SVG, 'path');
      path.setAttribute('d', `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
      path.setAttribute('class', 'dt-link');
      svg.append(path);
    }
  }
  const boxes = nodes.map((node) => {
    const p = at.get(node.key);
    const box = h('button', {
      class: `dt-node${node.key === selected ? ' dt-selected' : ''}${node.key === 'app' ? ' dt-app' : ''}`,
      attrs: { type: 'button', 'aria-label': nodeLabel(node), 'aria-pressed': String(node.key === selected) },
      dataset: { key: node.key },
      onclick: () => onOpen(node),
    }, ...nodeBody(node));
    box.style.left = `${x(p)}px`;
    box.style.top = `${y(p)}px`;
    box.style.width = `${NODE_W}px`;
    box.style.height = `${NODE_H}px`;
    return box;
  });
  const canvas = h('div', { class: 'dt-canvas' }, svg, ...boxes);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  return h('div', { class: 'dt-graph', attrs: { role: 'region', 'aria-label': 'Resource tree' } }, canvas);
}

/** The tree as a table, parents before their children (depth-first, indented by depth). */
export function renderList(nodes, selected, onOpen) {
  const { at } = layout(nodes);
  const ordered = [...nodes].sort((a, b) => at.get(a.key).order - at.get(b.key).order);
  const rows = ordered.map((node) => {
    const open = h('button', {
      class: 'dt-link-button', attrs: { type: 'button', 'aria-label': nodeLabel(node) }, onclick: () => onOpen(node),
    }, node.name);
    const name = h('td', { class: 'dt-list-name' }, open);
    name.style.paddingLeft = `${0.5 + at.get(node.key).col * 1.25}rem`;
    return h('tr', { class: node.key === selected ? 'dt-selected' : '' },
      h('td', {}, node.kind, node.hook ? h('span', { class: 'dt-hook' }, `${node.hook} hook`) : null),
      name,
      h('td', {}, node.namespace || ''),
      h('td', {}, node.health ? badge('health', node.health) : ''),
      h('td', {}, node.sync ? badge('sync', node.sync) : node.hookPhase ? badge('run', node.hookPhase) : ''));
  });
  return h('table', { class: 'dt-list', attrs: { 'aria-label': 'Resources' } },
    h('thead', {}, h('tr', {}, ...['Kind', 'Name', 'Namespace', 'Health', 'Sync'].map((t) => h('th', { attrs: { scope: 'col' } }, t)))),
    h('tbody', {}, ...rows));
}
