// Application detail: the history tab — status.history newest first (revision linked to its change,
// when it was deployed, who synced it, the commit message), a rollback per earlier entry and the
// rollback by git revert.

import { h } from '../dom.js';
import { badge, timeAgo } from '../ui.js';

function who(entry) {
  const by = entry.initiatedBy || {};
  if (by.automated) return 'automated sync';
  return by.username || '—';
}

/** The history of ``app``; ``canSync`` offers the rollbacks; ``onRollback(entry)``, ``onRevert()``. */
export function renderHistory(app, { canSync, onRollback, onRevert }) {
  const status = app.status || {};
  const history = [...(status.history || [])].sort((a, b) => b.id - a.id);
  const running = (status.sync || {}).revision || '';
  const tools = canSync && history.length
    ? h('div', { class: 'dt-history-tools' },
      h('button', { type: 'button', class: 'button', onclick: onRevert }, 'Rollback by git revert'))
    : null;
  if (!history.length) {
    return h('div', {}, tools, h('p', { class: 'dt-note' }, 'No sync has been recorded yet.'));
  }
  const rows = history.map((entry, i) => {
    const revision = String(entry.revision || (entry.revisions || [])[0] || '');
    const current = i === 0;
    const extra = entry.gitloop || {};
    const link = revision
      ? h('a', { href: `/ui/changes/${encodeURIComponent(revision)}`, class: 'dt-mono', attrs: { 'aria-label': `Change ${revision.slice(0, 12)}` } }, revision.slice(0, 12))
      : '—';
    const deployed = entry.deployedAt ? h('time', { attrs: { datetime: entry.deployedAt, title: entry.deployedAt } }, timeAgo(entry.deployedAt)) : '';
    const action = canSync && !current
      ? h('button', { type: 'button', class: 'button', attrs: { 'aria-label': `Rollback to ${entry.id}` }, onclick: () => onRollback(entry) }, 'Rollback')
      : current ? h('span', { class: 'dt-hint' }, revision === running ? 'running' : 'latest') : '';
    return h('tr', { class: current ? 'dt-current' : '' },
      h('td', {}, String(entry.id)),
      h('td', {}, link),
      h('td', {}, deployed),
      h('td', {}, who(entry)),
      h('td', {}, extra.phase ? badge('run', extra.phase) : '', extra.rollbackOf ? ` rollback of ${extra.rollbackOf}` : ''),
      h('td', { class: 'dt-message' }, (extra.message || '').split('\n')[0]),
      h('td', {}, action));
  });
  return h('div', {}, tools,
    h('table', { class: 'dt-history', attrs: { 'aria-label': 'History' } },
      h('thead', {}, h('tr', {}, ...['ID', 'Revision', 'Deployed', 'By', 'Result', 'Commit message', ''].map((t) => h('th', { attrs: { scope: 'col' } }, t)))),
      h('tbody', {}, ...rows)));
}
