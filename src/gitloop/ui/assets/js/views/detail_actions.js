// Application detail: the dialogs that change an Application — sync (revision, resources, prune, dry
// run, force, apply-out-of-sync-only; the name typed to confirm a prune), rollback to a history entry
// or by git revert, and delete with its cascade choice. Each calls the /api/v1 route the CLI calls too.

import { h } from '../dom.js';
import { api } from '../api.js';
import { confirmTyped, dialog, toast } from '../ui.js';
import { resourceKey } from './detail_tree.js';

const path = (name, tail = '') => `/api/v1/applications/${encodeURIComponent(name)}${tail}`;

function checkbox(label, checked, hint) {
  const input = h('input', { type: 'checkbox', checked, attrs: { 'aria-label': label } });
  return { input, row: h('label', { class: 'dt-check' }, input, ` ${label}`, hint ? h('span', { class: 'dt-hint' }, ` — ${hint}`) : null) };
}

function sourceOf(app) {
  const spec = app.spec || {};
  return spec.source || (spec.sources || [])[0] || {};
}

/** The sync dialog of ``app``; resolves once the sync started (the operation then shows live) or the
 * dialog was cancelled. ``selected``: resource keys to preselect (all when empty). */
export async function syncDialog(app, selected = []) {
  const name = app.metadata.name;
  const resources = ((app.status || {}).resources || []).filter((r) => !r.hook);
  const revision = h('input', {
    type: 'text', class: 'input', value: sourceOf(app).targetRevision || 'HEAD', autocomplete: 'off',
    attrs: { 'aria-label': 'Revision' },
  });
  const prune = checkbox('Prune', false, 'delete resources no longer in git');
  const dryRun = checkbox('Dry run', false, 'ask the API server, change nothing');
  const force = checkbox('Force', false, 'replace resources that cannot be patched');
  const outOfSync = checkbox('Apply out of sync only', false, 'select only the resources that differ');
  const rows = resources.map((r) => {
    const key = resourceKey(r);
    const box = checkbox(`${r.kind} ${r.namespace ? r.namespace + '/' : ''}${r.name}`, !selected.length || selected.includes(key), r.status);
    box.key = key;
    box.resource = r;
    return box;
  });
  const all = checkbox('All resources', rows.every((r) => r.input.checked));
  all.input.addEventListener('change', () => rows.forEach((r) => { r.input.checked = all.input.checked; }));
  outOfSync.input.addEventListener('change', () => {
    rows.forEach((r) => { r.input.checked = outOfSync.input.checked ? r.resource.status !== 'Synced' : true; });
    all.input.checked = rows.every((r) => r.input.checked);
  });
  const typed = h('input', { type: 'text', class: 'input', autocomplete: 'off', attrs: { 'aria-label': `Type ${name} to confirm prune` } });
  const confirmRow = h('label', { class: 'dt-confirm', hidden: true }, 'Prune deletes resources: type ', h('code', {}, name), ' to confirm ', typed);
  const body = h('div', { class: 'dt-sync-form' },
    h('label', { class: 'dt-field' }, 'Revision ', revision),
    h('fieldset', { class: 'dt-options' }, h('legend', {}, 'Options'), prune.row, dryRun.row, force.row, outOfSync.row),
    h('fieldset', { class: 'dt-resources' }, h('legend', {}, 'Resources'), all.row, ...rows.map((r) => r.row)),
    confirmRow);
  const shown = dialog({
    title: `Sync ${name}`, body,
    actions: [{ label: 'Cancel', value: null }, { label: 'Synchronize', value: 'sync', kind: 'primary' }],
  });
  const button = body.closest('dialog').buttons[1];
  const check = () => {
    const pruning = prune.input.checked && !dryRun.input.checked;
    confirmRow.hidden = !pruning;
    button.disabled = (pruning && typed.value !== name) || !rows.some((r) => r.input.checked) && rows.length > 0;
  };
  [prune.input, dryRun.input, typed, all.input, outOfSync.input, ...rows.map((r) => r.input)].forEach((el) => {
    el.addEventListener('input', check);
    el.addEventListener('change', check);
  });
  check();
  revision.focus();
  if ((await shown) !== 'sync') return null;
  const chosen = rows.filter((r) => r.input.checked);
  const request = { revision: revision.value.trim(), prune: prune.input.checked, dryRun: dryRun.input.checked };
  if (force.input.checked) request.strategy = { apply: { force: true } };
  if (chosen.length < rows.length) {
    request.resources = chosen.map(({ resource: r }) => ({ group: r.group || '', kind: r.kind, namespace: r.namespace || '', name: r.name }));
  }
  try {
    const answer = await api.post(path(name, '/sync'), request);
    toast(`Sync of ${name} started${request.dryRun ? ' (dry run)' : ''}`, 'ok');
    return answer;
  } catch (err) {
    toast(`Sync of ${name} failed: ${err.message}`, 'error');
    return null;
  }
}

/** Roll ``app`` back to history entry ``entry`` (Argo CD's rollback: a sync to its revision). */
export async function rollbackTo(app, entry) {
  const name = app.metadata.name;
  const short = String(entry.revision || '').slice(0, 12);
  const chosen = await dialog({
    title: `Roll back ${name}`,
    body: h('p', {}, `Sync ${name} to history entry ${entry.id}, revision `, h('code', {}, short), '? Auto-sync, if on, must be off for a rollback to stay.'),
    actions: [{ label: 'Cancel', value: null }, { label: 'Roll back', value: 'rollback', kind: 'danger' }],
  });
  if (chosen !== 'rollback') return null;
  try {
    const answer = await api.put(path(name, '/rollback'), { id: entry.id });
    toast(`Rolling ${name} back to ${short}`, 'ok');
    return answer;
  } catch (err) {
    toast(`Rollback of ${name} failed: ${err.message}`, 'error');
    return null;
  }
}

/** Roll ``app`` back by a git revert of the config commit that brought its current state. */
export async function rollbackByRevert(app) {
  const name = app.metadata.name;
  const chosen = await dialog({
    title: `Revert ${name}`,
    body: h('p', {}, 'Push a new config commit that reverts the one running now; the cluster follows git (an auto-sync or your next sync).'),
    actions: [{ label: 'Cancel', value: null }, { label: 'Revert in git', value: 'revert', kind: 'danger' }],
  });
  if (chosen !== 'revert') return null;
  try {
    const answer = await api.put(path(name, '/rollback'), { revert: true });
    const commit = ((answer.revert || {}).commit || '').slice(0, 12);
    toast(`Reverted ${name}${commit ? `: commit ${commit}` : ''}`, 'ok');
    return answer;
  } catch (err) {
    toast(`Revert of ${name} failed: ${err.message}`, 'error');
    return null;
  }
}

/** Delete ``app`` with the cascade the user picks (typed confirm); resolves true once asked. */
export async function deleteApp(app) {
  const name = app.metadata.name;
  const choices = [
    ['foreground', 'Foreground: delete its resources, then the Application', { cascade: 'true', propagationPolicy: 'foreground' }],
    ['background', 'Background: delete the Application, its resources after', { cascade: 'true', propagationPolicy: 'background' }],
    ['orphan', 'Non-cascading: keep its resources in the cluster', { cascade: 'false' }],
  ];
  const radios = choices.map(([value, label], i) => {
    const input = h('input', { type: 'radio', name: 'dt-cascade', value, checked: i === 0 });
    return { input, row: h('label', { class: 'dt-check' }, input, ` ${label}`) };
  });
  const picked = await dialog({
    title: `Delete ${name}`,
    body: h('fieldset', { class: 'dt-options' }, h('legend', {}, 'Propagation'), ...radios.map((r) => r.row)),
    actions: [{ label: 'Cancel', value: null }, { label: 'Next', value: 'next', kind: 'danger' }],
  });
  if (picked !== 'next') return false;
  const choice = choices[radios.findIndex((r) => r.input.checked)];
  const sure = await confirmTyped(name, { title: `Delete ${name}`, message: choice[1] });
  if (!sure) return false;
  try {
    await api.del(path(name), choice[2]);
    toast(`Deleting ${name}`, 'ok');
    return true;
  } catch (err) {
    toast(`Delete of ${name} failed: ${err.message}`, 'error');
    return false;
  }
}
