// Application detail: the resource panel — one resource's summary, live and desired manifests (YAML,
// Secret values masked), their diff (unified or side by side), its Kubernetes Events and, for a Pod,
// what the API says about its logs. Data: managed-resources, events, the resource tree's node and, for
// the live manifest of any node (managed or made by a controller), the Application's resource route.

import { api } from '../api.js';
import { h, clear } from '../dom.js';
import { badge, errorBox, spinner, timeAgo } from '../ui.js';
import { diffLines, maskSecret, parseState, sideBySide, toYaml, withContext } from './detail_text.js';

/** The panel's tabs for ``node``: the desired manifest and diff of what git holds, logs of a Pod. */
function tabsOf(node) {
  const tabs = ['Summary', 'Live manifest'];
  if (node.managed) tabs.push('Desired manifest', 'Diff');
  tabs.push('Events');
  if (node.kind === 'Pod') tabs.push('Logs');
  return tabs;
}

function yamlOf(state) {
  const parsed = parseState(state);
  return parsed === null ? '' : toYaml(maskSecret(parsed));
}

function codeBlock(text, label) {
  return h('pre', { class: 'dt-code', attrs: { tabindex: '0', 'aria-label': `${label} (YAML)` } }, text);
}

function field(name, ...value) {
  return [h('dt', {}, name), h('dd', {}, ...value)];
}

function summary(node, managed) {
  const rows = [
    ...field('Kind', node.group ? `${node.kind} (${node.group})` : node.kind),
    ...field('Name', node.name),
    ...field('Namespace', node.namespace || '—'),
  ];
  if (node.health) rows.push(...field('Health', badge('health', node.health), node.healthMessage ? ` ${node.healthMessage}` : ''));
  if (node.sync) rows.push(...field('Sync', badge('sync', node.sync), node.requiresPruning ? ' (requires pruning)' : ''));
  if (node.hook) rows.push(...field('Hook', `${node.hook}`, node.hookPhase ? ' ' : '', node.hookPhase ? badge('run', node.hookPhase) : ''));
  if (node.images && node.images.length) rows.push(...field('Images', node.images.join(', ')));
  if (node.createdAt) rows.push(...field('Created', timeAgo(node.createdAt)));
  if (node.parents && node.parents.length && node.parents[0] !== 'app') {
    rows.push(...field('Owned by', node.parents.map((p) => p.split('/').slice(1, 2).concat(p.split('/').slice(3)).join(' ')).join(', ')));
  }
  if (managed && managed.modified !== undefined) rows.push(...field('Differs from git', managed.modified ? 'yes' : 'no'));
  return h('dl', { class: 'dt-summary' }, ...rows);
}

function unmanaged(node) {
  return h('p', { class: 'dt-note', attrs: { role: 'status' } },
    `No comparison with git for ${node.kind} ${node.name}: the Application's last comparison does not hold it.`);
}

/** The live manifest of ``node`` (YAML), read now through ``base``'s resource route; '' if it has none. */
async function liveManifest(base, node) {
  if (!node.uid) return '';
  const answer = await api.get(`${base}/resource`, {
    resourceName: node.name, kind: node.kind, group: node.group, namespace: node.namespace, version: node.version,
  });
  return yamlOf(answer.manifest);
}

function liveView(node, text) {
  if (text) return codeBlock(text, 'Live manifest');
  const why = node.managed ? 'Not in the cluster (missing).' : `${node.kind} ${node.name} has no live object in the cluster.`;
  return h('p', { class: 'dt-note' }, why);
}

/** The diff view of ``managed``: live (normalised) → desired (predicted, else target). */
export function diffView(managed, mode, full) {
  const before = yamlOf(managed.normalizedLiveState);
  const predicted = parseState(managed.predictedLiveState);
  const after = predicted === null ? yamlOf(managed.targetState) : toYaml(maskSecret(predicted));
  const ops = diffLines(before, after);
  if (!ops.some((o) => o.op !== ' ')) {
    return h('p', { class: 'dt-note', attrs: { role: 'status' } }, 'No difference: the live resource matches git.');
  }
  const shown = full ? ops : withContext(ops, 3);
  const cell = (line, side) => {
    if (!line) return [h('td', { class: 'dt-ln' }), h('td', { class: 'dt-empty' })];
    const number = side === 'left' ? line.a : line.b;
    const kind = line.op === '-' ? 'dt-del' : line.op === '+' ? 'dt-add' : '';
    return [h('td', { class: 'dt-ln' }, number ? String(number) : ''), h('td', { class: kind }, line.text)];
  };
  const gap = (skipped, span) => h('tr', { class: 'dt-gap' }, h('td', { attrs: { colspan: String(span) } }, `⋯ ${skipped} unchanged lines`));
  let rows;
  if (mode === 'split') {
    rows = sideBySide(shown).map((row) => (row.gap ? gap(row.gap, 4) : h('tr', {}, ...cell(row.left, 'left'), ...cell(row.right, 'right'))));
  } else {
    rows = shown.map((line) => {
      if (line.op === '…') return gap(line.skipped, 4);
      const kind = line.op === '-' ? 'dt-del' : line.op === '+' ? 'dt-add' : '';
      return h('tr', {}, h('td', { class: 'dt-ln' }, line.a ? String(line.a) : ''), h('td', { class: 'dt-ln' }, line.b ? String(line.b) : ''),
        h('td', { class: `dt-op ${kind}` }, line.op), h('td', { class: kind }, line.text));
    });
  }
  const head = mode === 'split'
    ? h('tr', {}, h('th', { attrs: { colspan: '2', scope: 'col' } }, 'Live'), h('th', { attrs: { colspan: '2', scope: 'col' } }, 'Desired (git)'))
    : h('tr', {}, h('th', { attrs: { colspan: '4', scope: 'col' } }, 'Live → desired (git)'));
  return h('div', { class: 'dt-diff-wrap' }, h('table', { class: `dt-diff dt-diff-${mode}`, attrs: { 'aria-label': 'Diff' } },
    h('thead', {}, head), h('tbody', {}, ...rows)));
}

function eventsOf(events, node) {
  return events.filter((e) => {
    const o = e.involvedObject || e.regarding || {};
    return o.kind === node.kind && o.name === node.name && (o.namespace || '') === (node.namespace || '');
  });
}

function eventsView(events) {
  if (!events.length) return h('p', { class: 'dt-note' }, 'No events about this resource.');
  const when = (e) => e.lastTimestamp || e.eventTime || e.firstTimestamp || (e.metadata || {}).creationTimestamp || '';
  const sorted = [...events].sort((a, b) => (when(a) < when(b) ? 1 : -1));
  return h('table', { class: 'dt-events', attrs: { 'aria-label': 'Events' } },
    h('thead', {}, h('tr', {}, ...['Type', 'Reason', 'Message', 'Count', 'Last seen'].map((t) => h('th', { attrs: { scope: 'col' } }, t)))),
    h('tbody', {}, ...sorted.map((e) => h('tr', { class: e.type === 'Warning' ? 'dt-warning' : '' },
      h('td', {}, e.type || ''), h('td', {}, e.reason || ''), h('td', {}, e.message || ''),
      h('td', {}, String(e.count || 1)), h('td', {}, when(e) ? timeAgo(when(e)) : '')))));
}

function logsView() {
  return h('div', { class: 'dt-error', attrs: { role: 'alert' } },
    h('strong', {}, 'Pod logs are not available. '),
    'gitloop\'s API has no pod log route: its cluster port reads objects, not container logs, and the ' +
    'local cluster\'s hollow nodes run no containers. The Pod\'s Events tab shows what its node reported.');
}

/** Mount the panel of ``node`` in ``root``; ``data()`` → Promise of ``{managed: [...], events: [...]}``
 * (cached by the caller); ``base`` is the Application's API path; ``onClose()`` closes it. Returns
 * ``update(node)`` to redraw after a change. */
export function mountPanel(root, node, { data, base, onClose }) {
  const state = { tab: 'Summary', mode: 'unified', full: false, node, drawn: 0 };
  const body = h('div', { class: 'dt-panel-body', attrs: { role: 'tabpanel' } });
  const tabs = h('div', { class: 'dt-tabs', attrs: { role: 'tablist', 'aria-label': 'Resource views' } });
  const title = h('h2', { class: 'dt-panel-title' });
  const panel = h('section', { class: 'dt-panel', attrs: { 'aria-label': `Resource ${node.kind} ${node.name}` } },
    h('header', { class: 'dt-panel-head' }, title,
      h('button', { class: 'dt-close', attrs: { type: 'button', 'aria-label': 'Close resource panel' }, onclick: onClose }, '×')),
    tabs, body);
  clear(root);
  root.append(panel);

  const managedOf = (all) => all.find((m) => `${m.group || ''}/${m.kind}/${m.namespace || ''}/${m.name}` === state.node.key);

  async function draw() {
    const current = state.node;
    const mine = ++state.drawn;
    const names = tabsOf(current);
    if (!names.includes(state.tab)) state.tab = 'Summary';
    clear(title);
    title.append(`${current.kind} `, h('span', { class: 'dt-mono' }, current.name));
    clear(tabs);
    for (const name of names) {
      tabs.append(h('button', {
        class: 'dt-tab', attrs: { type: 'button', role: 'tab', 'aria-selected': String(name === state.tab) },
        onclick: () => { state.tab = name; draw(); },
      }, name));
    }
    const view = `${current.key} ${state.tab} ${state.mode} ${state.full}`;
    const same = state.view === view; // a redraw of what is shown: keep it until the new data is in
    state.view = view;
    body.setAttribute('aria-label', state.tab);
    if (state.tab === 'Logs') {
      clear(body).append(logsView());
      return;
    }
    if (!same) clear(body).append(spinner());
    let loaded;
    let live = '';
    try {
      [loaded, live] = await Promise.all([data(), state.tab === 'Live manifest' ? liveManifest(base, current) : '']);
    } catch (err) {
      if (mine !== state.drawn) return;
      clear(body);
      body.append(errorBox(err));
      return;
    }
    if (mine !== state.drawn) return; // a newer draw (another tab, another node) owns the body
    clear(body);
    const managed = managedOf(loaded.managed);
    if (state.tab === 'Summary') body.append(summary(current, managed));
    else if (state.tab === 'Events') body.append(eventsView(eventsOf(loaded.events, current)));
    else if (state.tab === 'Live manifest') body.append(liveView(current, live));
    else if (!managed) body.append(unmanaged(current));
    else if (state.tab === 'Desired manifest') {
      const text = yamlOf(managed.targetState);
      body.append(text ? codeBlock(text, 'Desired manifest') : h('p', { class: 'dt-note' }, 'Not in git: it would be pruned.'));
    } else {
      const toggle = (label, pressed, change) => h('button', {
        class: 'dt-toggle', attrs: { type: 'button', 'aria-pressed': String(pressed) }, onclick: change,
      }, label);
      body.append(h('div', { class: 'dt-diff-tools', attrs: { role: 'group', 'aria-label': 'Diff display' } },
        toggle('Unified', state.mode === 'unified', () => { state.mode = 'unified'; draw(); }),
        toggle('Side by side', state.mode === 'split', () => { state.mode = 'split'; draw(); }),
        toggle('Full file', state.full, () => { state.full = !state.full; draw(); })),
        diffView(managed, state.mode, state.full));
    }
  }
  draw();
  return {
    update(next) {
      state.node = next || state.node;
      draw();
    },
    element: panel,
  };
}
