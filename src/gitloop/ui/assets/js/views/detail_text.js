// Application detail: the text of manifests — JSON state strings as YAML, Secret values masked again
// on the client, and a Myers line diff of two texts (pure functions; no DOM).

const MASK = /^\++$/;

/** A copy of a Secret manifest whose data/stringData values are masked ("++++++++"), keeping a value
 * the server masked already (its "+" runs differ per value, so a changed value still shows). */
export function maskSecret(obj) {
  if (!obj || typeof obj !== 'object' || obj.kind !== 'Secret') return obj;
  const copy = JSON.parse(JSON.stringify(obj));
  for (const field of ['data', 'stringData']) {
    const values = copy[field];
    if (!values || typeof values !== 'object') continue;
    for (const key of Object.keys(values)) {
      const value = String(values[key] ?? '');
      if (!MASK.test(value)) values[key] = '++++++++';
    }
  }
  const notes = copy.metadata && copy.metadata.annotations;
  const applied = 'kubectl.kubernetes.io/last-applied-configuration';
  if (notes && applied in notes && !MASK.test(String(notes[applied]))) notes[applied] = '++++++++';
  return copy;
}

/** The object of an Argo CD state string ("null" → null); a string that is not JSON stays a string. */
export function parseState(text) {
  if (text === undefined || text === null || text === '' || text === 'null') return null;
  try {
    return JSON.parse(text);
  } catch {
    return String(text);
  }
}

const PLAIN = /^[A-Za-z0-9_./@-][A-Za-z0-9_ ./@:-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~|-?[0-9.eE+-]+)$/i;

function scalar(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  if (text === '' || !PLAIN.test(text) || RESERVED.test(text) || text.endsWith(' ') || text.includes(': ')) {
    return JSON.stringify(text);
  }
  return text;
}

function isEmpty(value) {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

function emit(value, indent, lines, prefix) {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item && typeof item === 'object' && !isEmpty(item)) {
        const sub = [];
        emit(item, indent + 2, sub, '');
        sub[0] = pad + '- ' + sub[0].slice(indent + 2);
        lines.push(...sub);
      } else {
        lines.push(pad + '- ' + (item && typeof item === 'object' ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)));
      }
    }
    return;
  }
  for (const key of Object.keys(value)) {
    const item = value[key];
    const name = pad + prefix + scalar(key) + ':';
    if (item && typeof item === 'object' && !isEmpty(item)) {
      lines.push(name);
      emit(item, Array.isArray(item) ? indent : indent + 2, lines, '');
    } else if (typeof item === 'string' && item.includes('\n')) {
      lines.push(name + ' |');
      for (const line of item.replace(/\n$/, '').split('\n')) lines.push(pad + '  ' + line);
    } else {
      lines.push(name + ' ' + (item && typeof item === 'object' ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)));
    }
  }
}

/** ``value`` (parsed JSON) as YAML text, keys in their given order; "" for null. */
export function toYaml(value) {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return scalar(value) + '\n';
  if (isEmpty(value)) return (Array.isArray(value) ? '[]' : '{}') + '\n';
  const lines = [];
  emit(value, 0, lines, '');
  return lines.join('\n') + '\n';
}

function splitLines(text) {
  if (!text) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The line diff of ``before`` → ``after`` (Myers' O(ND) greedy algorithm, with its trace walked back):
 * a list of ``{op: ' '|'-'|'+', text, a, b}`` (a/b: 1-based line numbers in before/after, 0 if none). */
export function diffLines(before, after) {
  const a = splitLines(before);
  const b = splitLines(after);
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  let found = n === 0 && m === 0;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  const ops = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0 && (x > 0 || y > 0); d--) {
    const prev = trace[d];
    const k = x - y;
    const down = k === -d || (k !== d && prev[offset + k - 1] < prev[offset + k + 1]);
    const prevK = down ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : prev[offset + prevK];
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ op: ' ', text: a[x - 1], a: x, b: y });
      x--;
      y--;
    }
    if (d === 0) break;
    if (down) ops.push({ op: '+', text: b[y - 1], a: 0, b: y });
    else ops.push({ op: '-', text: a[x - 1], a: x, b: 0 });
    x = prevX;
    y = prevY;
  }
  return ops.reverse();
}

/** ``ops`` reduced to the changed lines with ``context`` unchanged lines around each change; a gap is
 * ``{op: '…', skipped}``. */
export function withContext(ops, context = 3) {
  const keep = new Uint8Array(ops.length);
  ops.forEach((line, i) => {
    if (line.op === ' ') return;
    for (let j = Math.max(0, i - context); j <= Math.min(ops.length - 1, i + context); j++) keep[j] = 1;
  });
  const shown = [];
  let skipped = 0;
  ops.forEach((line, i) => {
    if (keep[i]) {
      if (skipped) shown.push({ op: '…', skipped });
      skipped = 0;
      shown.push(line);
    } else {
      skipped++;
    }
  });
  if (skipped) shown.push({ op: '…', skipped });
  return shown;
}

/** Side-by-side rows of ``ops``: ``{left, right}`` (a line or null), removals paired with additions. */
export function sideBySide(ops) {
  const rows = [];
  let removed = [];
  let added = [];
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++) {
      rows.push({ left: removed[i] || null, right: added[i] || null });
    }
    removed = [];
    added = [];
  };
  for (const line of ops) {
    if (line.op === '-') removed.push(line);
    else if (line.op === '+') added.push(line);
    else {
      flush();
      rows.push(line.op === '…' ? { gap: line.skipped } : { left: line, right: line });
    }
  }
  flush();
  return rows;
}
