// Application detail view (/ui/applications/:name, query tab=tree|list|history and resource=
// group/kind/namespace/name): the header (health, sync, operation, conditions, sync window, source,
// destination, images), the resource tree or list, the resource panel, history, and the actions —
// sync, refresh, hard refresh, rollback, delete — offered only when ctx.can allows. Live: the
// Application stream filtered to this name; each change redraws the header at once and reloads the
// tree shortly after.

import { h, clear } from '../dom.js';
import { api } from '../api.js';
import { badge, errorBox, keyboard, shortcutsHelp, spinner, timeAgo, toast } from '../ui.js';
import { deleteApp, rollbackByRevert, rollbackTo, syncDialog } from './detail_actions.js';
import { renderHistory } from './detail_history.js';
import { mountPanel } from './detail_panel.js';
import { renderGraph, renderList, treeNodes } from './detail_tree.js';

const TABS = [['tree', 'Tree'], ['list', 'List'], ['history', 'History']];
const RUNNING = ['Running', 'Terminating'];

const short = (sha) => String(sha || '').slice(0, 12);

function item(label, ...value) {
  return h('div', { class: 'dt-fact' }, h('span', { class: 'dt-fact-label' }, label), h('span', { class: 'dt-fact-value' }, ...value));
}

function operationFacts(op) {
  if (!op) return [item('Last sync', 'none yet')];
  const by = (op.operation || {}).initiatedBy || {};
  const results = (op.syncResult || {}).resources || [];
  const done = results.filter((r) => ['Synced', 'Pruned', 'PruneSkipped'].includes(r.status) || r.hookPhase === 'Succeeded').length;
  const when = op.finishedAt || op.startedAt;
  return [
    item('Last sync', badge('run', op.phase), (op.gitloop || {}).dryRun ? ' (dry run)' : '',
      when ? h('time', { attrs: { datetime: when, title: when } }, ` ${timeAgo(when)}`) : '',
      by.automated ? ' by auto-sync' : by.username ? ` by ${by.username}` : ''),
    op.message ? item('Message', h('span', { class: 'dt-op-message', attrs: { role: RUNNING.includes(op.phase) ? 'status' : null } }, op.message)) : null,
    results.length ? item('Progress', `${done}/${results.length} resources done`) : null,
  ];
}

function windowFacts(windows) {
  if (!windows || !(windows.assignedWindows || []).length) return item('Sync window', 'none: syncs allowed any time');
  const active = windows.activeWindows || [];
  const described = active.map((w) => `${w.kind} ${w.schedule} for ${w.duration}`).join('; ');
  const verdict = windows.canSync
    ? h('span', { class: 'badge badge-ok' }, 'manual sync allowed')
    : h('span', { class: 'badge badge-bad' }, 'manual sync blocked');
  return item('Sync window', verdict, described ? ` active: ${described}` : ' no window active now');
}

function header(state, actions) {
  const { app } = state;
  const status = app.status || {};
  const spec = app.spec || {};
  const source = spec.source || (spec.sources || [])[0] || {};
  const dest = spec.destination || {};
  const sync = status.sync || {};
  const health = status.health || {};
  const conditions = status.conditions || [];
  const images = (status.summary || {}).images || [];
  const deleting = app.metadata.deletionTimestamp;
  return h('section', { class: 'dt-header', attrs: { 'aria-label': 'Application status' } },
    h('div', { class: 'dt-title-row' },
      h('h1', { class: 'dt-title' }, h('span', { class: 'dt-title-kind' }, 'Application '), app.metadata.name),
      h('div', { class: 'dt-actions', attrs: { role: 'toolbar', 'aria-label': 'Application actions' } }, ...actions)),
    deleting ? h('div', { class: 'dt-error', attrs: { role: 'alert' } }, `Being deleted since ${timeAgo(deleting)}`) : null,
    h('div', { class: 'dt-facts' },
      item('Health', badge('health', health.status), health.message ? ` ${health.message}` : ''),
      item('Sync', badge('sync', sync.status), sync.revision
        ? h('span', { class: 'dt-mono', attrs: { title: sync.revision } }, ` ${sync.status === 'Synced' ? 'to' : 'from'} ${source.targetRevision || 'HEAD'} (${short(sync.revision)})`)
        : ''),
      ...operationFacts(status.operationState),
      windowFacts(state.windows),
      item('Source', h('span', { class: 'dt-mono' }, source.repoURL || ''), source.path ? ` path ${source.path}` : '',
        source.chart ? ` chart ${source.chart}` : '', ` @ ${source.targetRevision || 'HEAD'}`),
      item('Destination', `${dest.name || dest.server || ''}`, dest.namespace ? ` / ${dest.namespace}` : ''),
      item('Project', spec.project || 'default'),
      images.length ? item('Images', h('span', { class: 'dt-mono' }, images.join(', '))) : null),
    conditions.length
      ? h('ul', { class: 'dt-conditions', attrs: { 'aria-label': 'Conditions' } },
        ...conditions.map((c) => h('li', { class: /Error|Warning/.test(c.type) ? 'dt-warning' : '' },
          h('strong', {}, c.type), `: ${c.message}`, c.lastTransitionTime ? ` (${timeAgo(c.lastTransitionTime)})` : '')))
      : null);
}

export async function mount(root, ctx) {
  const name = ctx.params.name;
  const base = `/api/v1/applications/${encodeURIComponent(name)}`;
  const state = {
    app: null, tree: null, windows: null, tab: ctx.query.tab || 'tree', selected: ctx.query.resource || '',
    can: { sync: false, delete: false }, cache: null, panel: null, stopped: false,
  };
  const head = h('div', { class: 'dt-head' });
  const tabs = h('div', { class: 'dt-view-tabs', attrs: { role: 'tablist', 'aria-label': 'Application views' } });
  const content = h('div', { class: 'dt-content', attrs: { role: 'tabpanel' } });
  const side = h('div', { class: 'dt-side' });
  const layout = h('div', { class: 'dt-layout' }, content, side);
  clear(root);
  root.append(h('div', { class: 'dt-view' }, head, tabs, layout));

  const panelData = () => {
    if (!state.cache) {
      state.cache = Promise.all([api.get(`${base}/managed-resources`), api.get(`${base}/events`)])
        .then(([managed, events]) => ({ managed: managed.items || [], events: events.items || [] }));
      state.cache.catch(() => { state.cache = null; });
    }
    return state.cache;
  };

  const nodes = () => treeNodes(state.app, state.tree);

  function open(node) {
    state.selected = node && node.key !== 'app' ? node.key : '';
    ctx.setQuery({ resource: state.selected });
    drawBody();
  }

  function drawPanel() {
    const node = state.selected && state.tab !== 'history' ? nodes().find((n) => n.key === state.selected) : null;
    if (!node) {
      state.panel = null;
      clear(side);
      layout.classList.remove('dt-with-panel');
      return;
    }
    layout.classList.add('dt-with-panel');
    if (state.panel && state.panel.element.isConnected && state.panel.key === node.key) state.panel.update(node);
    else {
      state.panel = mountPanel(side, node, { data: panelData, base, onClose: () => open(null) });
      state.panel.key = node.key;
    }
  }

  function drawTabs() {
    clear(tabs);
    for (const [key, label] of TABS) {
      tabs.append(h('button', {
        type: 'button', class: 'dt-view-tab', attrs: { role: 'tab', 'aria-selected': String(state.tab === key) },
        onclick: () => { state.tab = key; ctx.setQuery({ tab: key === 'tree' ? '' : key }); drawTabs(); drawBody(); },
      }, label));
    }
  }

  function drawBody() {
    clear(content);
    content.setAttribute('aria-label', TABS.find(([k]) => k === state.tab)?.[1] || 'Tree');
    if (state.tab === 'history') {
      content.append(renderHistory(state.app, {
        canSync: state.can.sync,
        onRollback: async (entry) => { if (await rollbackTo(state.app, entry)) reload(); },
        onRevert: async () => { if (await rollbackByRevert(state.app)) reload(); },
      }));
    } else if (state.tab === 'list') content.append(renderList(nodes(), state.selected, open));
    else content.append(renderGraph(nodes(), state.selected, open));
    drawPanel();
  }

  function button(label, onclick, extra = {}) {
    return h('button', { type: 'button', class: ['button', extra.kind && `button-${extra.kind}`], onclick, attrs: extra.attrs || {} }, label);
  }

  async function refresh(kind) {
    try {
      state.app = await api.get(base, { refresh: kind });
      toast(`${kind === 'hard' ? 'Hard refreshed' : 'Refreshed'} ${name}`, 'ok');
      state.cache = null;
      await reload();
    } catch (err) {
      toast(`Refresh failed: ${err.message}`, 'error');
    }
  }

  function drawHead() {
    const running = RUNNING.includes(((state.app.status || {}).operationState || {}).phase);
    const actions = [
      state.can.sync ? button('Sync', async () => { if (await syncDialog(state.app)) reload(); }, { kind: 'primary' }) : null,
      state.can.sync && running ? button('Terminate', async () => {
        try { await api.del(`${base}/operation`); toast('Terminating the operation', 'ok'); } catch (err) { toast(err.message, 'error'); }
      }) : null,
      button('Refresh', () => refresh('normal'), { attrs: { title: 'Compare the cluster with git again' } }),
      button('Hard refresh', () => refresh('hard'), { attrs: { title: 'Fetch git now, then compare the cluster with it' } }),
      state.can.delete ? button('Delete', async () => { if (await deleteApp(state.app)) ctx.navigate('/ui/applications'); }, { kind: 'danger' }) : null,
    ];
    clear(head);
    head.append(header(state, actions));
  }

  let pending = null;
  let loading = null;
  async function reload() {
    if (loading) { pending = true; return loading; }
    loading = (async () => {
      const [app, tree, windows] = await Promise.all([
        api.get(base), api.get(`${base}/resource-tree`).catch(() => ({ nodes: [] })), api.get(`${base}/syncwindows`).catch(() => null),
      ]);
      if (state.stopped) return;
      Object.assign(state, { app, tree, windows, cache: null });
      drawHead();
      drawBody();
    })();
    try { await loading; } catch (err) { if (!state.stopped) toast(`Reload failed: ${err.message}`, 'error'); } finally { loading = null; }
    if (pending && !state.stopped) { pending = null; await reload(); }
    return undefined;
  }

  root.querySelector('.dt-content').append(spinner());
  try {
    const app = await api.get(base);
    state.app = app;
    const object = `${(app.spec || {}).project || 'default'}/${name}`;
    const [sync, del] = await Promise.all([ctx.can('applications', 'sync', object), ctx.can('applications', 'delete', object)]);
    state.can = { sync, delete: del };
    await reload();
  } catch (err) {
    clear(root);
    root.append(errorBox(err));
    return undefined;
  }
  drawTabs();

  let soon = null;
  const closeStream = api.events('/api/v1/stream/applications', { name }, (event) => {
    const { type, application } = event.result || {};
    if (!application || application.metadata.name !== name || state.stopped) return;
    if (type === 'DELETED') {
      toast(`${name} was deleted`, 'info');
      ctx.navigate('/ui/applications');
      return;
    }
    const kept = (state.app.status || {}).history;
    state.app = { ...application, status: { ...application.status, history: kept } };
    drawHead();
    clearTimeout(soon);
    soon = setTimeout(reload, 400);
  });
  const stopKeys = keyboard({
    s: () => state.can.sync && syncDialog(state.app).then((ok) => ok && reload()),
    r: () => refresh('normal'),
    t: () => tabs.children[0].click(),
    l: () => tabs.children[1].click(),
    h: () => tabs.children[2].click(),
    Escape: () => state.selected && open(null),
    '?': () => shortcutsHelp([['s', 'Sync…'], ['r', 'Refresh'], ['t', 'Tree'], ['l', 'List'], ['h', 'History'],
      ['Tab / Enter', 'Move to a resource and open it'], ['Escape', 'Close the resource panel']]),
  });
  return () => {
    state.stopped = true;
    clearTimeout(soon);
    closeStream();
    stopKeys();
  };
}
