// bm-log ui (ADR-0030): the page. Plain DOM, no framework, nothing from the internet. Every
// text from the log (paths, names, file contents) goes in as text nodes, never as HTML.
// Views by the location's hash; the page polls /api/pulse and redraws when the log changed.

const view = document.getElementById('view');
const notice = document.getElementById('notice');
const POLL_MS = 3000;

/** An element with attributes (`on*` functions become listeners) and children (strings are text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function readReply(res) {
  const type = res.headers.get('content-type') ?? '';
  const body = type.startsWith('application/json') ? await res.json() : { error: { message: await res.text(), hint: '' } };
  if (!res.ok) {
    const e = new Error(body.error?.message ?? `HTTP ${res.status}`);
    e.hint = body.error?.hint ?? '';
    throw e;
  }
  return body;
}

async function get(path, params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined));
  return readReply(await fetch(`${path}${q.size > 0 ? `?${q}` : ''}`, { credentials: 'same-origin' }));
}

async function post(path, body) {
  return readReply(
    await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

let saidAt = 0;

function say(text, isError = false) {
  saidAt = text === '' ? 0 : Date.now();
  notice.textContent = text;
  notice.className = isError ? 'error' : '';
}

function sayError(e) {
  say(`${e.message}${e.hint ? ` (${e.hint})` : ''}`, true);
}

const short = (id) => (id ? id.slice(-8) : '');
const who = (v) => v.clientName ?? short(v.client);
const when = (t) => new Date(t).toLocaleString();
const fileLink = (p) => h('a', { href: `#/file/${encodeURIComponent(p)}` }, p);

function changeOf(e) {
  if (e.merge) return 'merged';
  return e.change ?? e.type;
}

function seenText(e) {
  if (!e.seenNames || e.seenNames.length === 0) return '';
  return e.seenNames.map((s) => `${s.name ?? short(s.client)}@${s.seq}`).join(', ');
}

function whoCell(e) {
  return h('td', {}, who(e), ' ', e.agent ? h('span', { class: 'badge agent', title: 'an agent client of this folder' }, 'agent') : null);
}

async function activityView() {
  const events = await get('/api/activity', { limit: 200 });
  if (events.length === 0) return [h('h2', {}, 'Activity'), h('p', {}, 'No events yet.')];
  const rows = events.map((e) =>
    h(
      'tr',
      {},
      h('td', {}, h('time', { datetime: e.time, title: e.time }, when(e.time))),
      whoCell(e),
      h('td', {}, h('span', { class: `badge ${changeOf(e)}` }, changeOf(e))),
      h('td', {}, fileLink(e.path)),
      h('td', {}, h('code', { title: e.version }, short(e.version))),
      h(
        'td',
        { class: 'muted' },
        h('small', {}, short(e.client)),
        e.merge ? h('div', {}, `merge of ${e.merge.parents.map(short).join(' + ')}`) : null,
      ),
      h('td', { class: 'muted' }, seenText(e)),
    ),
  );
  const head = ['When', 'Who', 'What', 'Path', 'Version', 'Device', 'Having seen'].map((t) => h('th', { scope: 'col' }, t));
  return [h('h2', {}, 'Activity'), h('table', { id: 'activity' }, h('thead', {}, h('tr', {}, head)), h('tbody', {}, rows))];
}

async function filesView() {
  const files = await get('/api/files');
  const rows = files.map((f) =>
    h('tr', {}, h('td', {}, fileLink(f.path)), h('td', {}, `${f.size} B`), h('td', {}, h('code', {}, short(f.version)))),
  );
  const head = ['Path', 'Size', 'Version'].map((t) => h('th', { scope: 'col' }, t));
  return [h('h2', {}, 'Files'), h('table', {}, h('thead', {}, h('tr', {}, head)), h('tbody', {}, rows))];
}

/** A unified diff's hunks as lines, added and removed lines marked (and said, for screen readers). */
function diffBlock(d) {
  if (d.binary) return h('p', {}, d.same ? 'The versions are the same (not text).' : 'The versions differ (not text).');
  if (d.same) return h('p', {}, 'No difference.');
  const lines = [];
  for (const hunk of d.hunks) {
    lines.push(h('div', { class: 'hunk' }, `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`));
    for (const l of hunk.lines) {
      const cls = l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : 'ctx';
      lines.push(h('div', { class: cls }, l));
    }
  }
  return h('div', { class: 'diff', id: 'diff', role: 'region', 'aria-label': `diff from ${d.from} to ${d.to}` }, lines);
}

function versionOption(v, selected) {
  const label = `${short(v.version)} ${v.type === 'tombstone' ? 'deleted' : v.type} by ${who(v)}, ${when(v.time)}`;
  return h('option', { value: v.version, selected }, label);
}

async function restoreVersion(path, version) {
  if (!window.confirm(`Bring ${path} back to version ${short(version)}? Everyone gets it at their next sync.`)) return;
  say('');
  try {
    const r = await post('/api/restore', { path, at: version });
    say(`Restored ${path} to ${short(version)}: ${r.eventsPublished} event(s) published.`);
    await render();
  } catch (e) {
    sayError(e);
  }
}

async function fileView(path) {
  const versions = await get('/api/history', { path });
  const out = [h('h2', {}, path), h('p', { class: 'muted' }, `${versions.length} version(s), newest first`)];
  if (versions.length === 0) return out;
  const from = h('select', { id: 'diff-from', 'aria-label': 'from version' }, h('option', { value: '' }, '(nothing)'));
  const to = h('select', { id: 'diff-to', 'aria-label': 'to version' });
  versions.forEach((v, i) => {
    from.append(versionOption(v, i === 1));
    to.append(versionOption(v, i === 0));
  });
  const diffArea = h('div', { id: 'diff-area' });
  const showDiff = async () => {
    try {
      diffArea.replaceChildren(diffBlock(await get('/api/diff', { path, from: from.value || null, to: to.value })));
    } catch (e) {
      sayError(e);
    }
  };
  from.addEventListener('change', showDiff);
  to.addEventListener('change', showDiff);
  const rows = versions.map((v, i) =>
    h(
      'tr',
      {},
      h('td', {}, h('code', { title: v.version }, short(v.version))),
      h('td', {}, h('span', { class: `badge ${v.merge ? 'merged' : v.type}` }, v.merge ? 'merged' : v.type)),
      h('td', {}, who(v)),
      h('td', {}, when(v.time)),
      h('td', {}, v.size === null ? '' : `${v.size} B`),
      h(
        'td',
        {},
        i > 0 && v.type !== 'tombstone'
          ? h(
              'button',
              { type: 'button', class: 'restore', 'data-version': v.version, onclick: () => restoreVersion(path, v.version) },
              'Restore',
            )
          : null,
      ),
    ),
  );
  const head = ['Version', 'Kind', 'Who', 'When', 'Size', ''].map((t) => h('th', { scope: 'col' }, t));
  out.push(
    h('table', { id: 'history' }, h('thead', {}, h('tr', {}, head)), h('tbody', {}, rows)),
    h('h3', {}, 'Diff'),
    h(
      'div',
      { class: 'row' },
      h('label', {}, 'From ', from),
      h('label', {}, 'To ', to),
      h('button', { type: 'button', id: 'show-diff', onclick: showDiff }, 'Show diff'),
    ),
    diffArea,
  );
  await showDiff();
  return out;
}

async function conflictsView() {
  const conflicts = await get('/api/conflicts');
  if (conflicts.length === 0) return [h('h2', {}, 'Conflicts'), h('p', {}, 'No open conflicts.')];
  const items = conflicts.map((c) =>
    h(
      'li',
      {},
      h('a', { href: `#/conflict/${encodeURIComponent(c.path)}` }, c.path),
      ' ',
      h('span', { class: 'muted' }, `${c.heads.map(who).join(' vs ')}: ${c.detail ?? c.kind}`),
    ),
  );
  return [h('h2', {}, 'Conflicts'), h('ul', { id: 'conflicts' }, items)];
}

async function resolveWith(body) {
  say('');
  try {
    await post('/api/resolve', body);
    say(`Resolved ${body.path}; everyone gets it at their next sync.`);
    location.hash = '#/conflicts';
  } catch (e) {
    sayError(e);
  }
}

function sideSection(title, side, action) {
  const text = side.text ?? (side.binary ? '(not text)' : '(deleted, or no common ancestor)');
  return h('section', {}, h('h3', {}, title), h('pre', {}, text), action);
}

async function conflictView(path) {
  const c = await get('/api/conflict', { path });
  const heads = c.heads.map((s) => s.version.version);
  const sides = [sideSection('Common ancestor', c.ancestor, null)];
  c.heads.forEach((s, i) => {
    const title = `${i === 0 ? 'Winner' : 'Other'}: ${who(s.version)} (${short(s.version.version)}, ${when(s.version.time)})`;
    const keep = h(
      'button',
      { type: 'button', class: 'keep', onclick: () => resolveWith({ path, keep: s.version.version }) },
      `Keep ${who(s.version)}'s version`,
    );
    sides.push(sideSection(title, s, keep));
  });
  const editor = h('textarea', { id: 'merged-text', 'aria-label': 'merged text to keep' });
  editor.value = c.proposal?.text ?? c.heads[0]?.text ?? '';
  const save = h(
    'button',
    { type: 'button', class: 'primary', id: 'save-merged', onclick: () => resolveWith({ path, text: editor.value, heads }) },
    'Save this text and resolve',
  );
  const about = c.proposal?.clean
    ? 'The versions merge cleanly: this is the merged text. Keep it as it is, or edit it first.'
    : 'The versions overlap: the text below holds both between <<<<<<< and >>>>>>> markers. Edit it, then save.';
  return [
    h('h2', {}, `Conflict: ${path}`),
    h('div', { class: 'sides' }, sides),
    h('h3', {}, 'Merged text'),
    h('p', { class: 'muted' }, about),
    editor,
    h('div', { class: 'row' }, save),
  ];
}

async function deletedView() {
  const files = await get('/api/deleted');
  const out = [h('h2', {}, 'Deleted files')];
  if (files.length === 0) return [...out, h('p', {}, 'No deleted files.')];
  const rows = files.map((f) =>
    h(
      'tr',
      {},
      h('td', {}, fileLink(f.path)),
      h('td', {}, `${who(f.deleted)}, ${when(f.deleted.time)}`),
      h(
        'td',
        {},
        f.lastContent ? h('code', {}, `bm-log restore ${f.path} --at ${short(f.lastContent.version)}`) : 'no content to bring back',
      ),
      h(
        'td',
        {},
        f.lastContent ? h('button', { type: 'button', onclick: () => restoreVersion(f.path, f.lastContent.version) }, 'Bring back') : null,
      ),
    ),
  );
  const head = ['Path', 'Deleted by', 'From the command line', ''].map((t) => h('th', { scope: 'col' }, t));
  return [...out, h('table', { id: 'deleted' }, h('thead', {}, h('tr', {}, head)), h('tbody', {}, rows))];
}

async function clientsView() {
  const clients = await get('/api/clients');
  const rows = clients.map((c) =>
    h(
      'tr',
      {},
      h(
        'td',
        {},
        c.name,
        c.self ? ' (this one)' : '',
        ' ',
        c.agent ? h('span', { class: 'badge agent' }, 'agent') : null,
        c.retired ? ' (retired)' : '',
      ),
      h('td', {}, h('code', {}, c.id)),
      h('td', {}, c.lastSeen ? when(c.lastSeen) : 'never'),
      h('td', {}, String(c.lastSeq)),
      h('td', {}, String(c.acked)),
    ),
  );
  const head = ['Name', 'Id', 'Last seen', 'Last segment', 'Acknowledged by all up to'].map((t) => h('th', { scope: 'col' }, t));
  return [
    h('h2', {}, 'Clients'),
    h('p', { class: 'muted' }, 'As of the last sync of this folder.'),
    h('table', { id: 'clients' }, h('thead', {}, h('tr', {}, head)), h('tbody', {}, rows)),
  ];
}

/** A command to paste in a terminal, as text, with a button copying it (copying runs nothing). */
function commandToCopy(command) {
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      say(`Copied: ${command}`);
    } catch (e) {
      sayError(e);
    }
  };
  return [h('code', { class: 'command' }, command), ' ', h('button', { type: 'button', class: 'copy', onclick: copy }, 'Copy')];
}

function memberTable(id, rows, extra) {
  const head = ['Name', 'Client id', 'Role', 'Key fingerprint', extra?.title ?? null]
    .filter((t) => t !== null)
    .map((t) => h('th', { scope: 'col' }, t));
  const body = rows.map((r) =>
    h(
      'tr',
      {},
      h('td', {}, r.name, r.self ? ' (this one)' : ''),
      h('td', {}, h('code', {}, r.client)),
      h('td', {}, r.role ?? 'pending'),
      h('td', {}, r.fingerprint ? h('code', { class: 'fingerprint' }, r.fingerprint) : '(no key)'),
      extra ? h('td', {}, extra.cell(r)) : null,
    ),
  );
  return h('table', { id }, h('thead', {}, h('tr', {}, head)), h('tbody', {}, body));
}

async function membersView() {
  const m = await get('/api/members');
  const out = [h('h2', {}, 'Members')];
  if (m.root === null)
    return [
      ...out,
      h('p', { id: 'no-members' }, 'This vault has no members: every client with a published key counts.'),
      h('p', {}, 'To start them, run this on the client that becomes the root admin (it admits every client there now as a writer):'),
      h('p', {}, commandToCopy(m.initCommand)),
    ];
  out.push(
    h('p', {}, 'Root admin: ', m.root.name, ' (key fingerprint ', h('code', {}, m.root.fingerprint), ')'),
    memberTable('members', m.members),
  );
  if (m.pending.length > 0)
    out.push(
      h('h3', {}, 'Waiting to be admitted'),
      h(
        'p',
        { class: 'muted' },
        'Nothing they write counts until an admin admits them. Check the key fingerprint with its person first, then an admin runs the command.',
      ),
      memberTable('pending', m.pending, { title: 'To admit', cell: (r) => commandToCopy(r.admitCommand) }),
    );
  if (m.removed.length > 0) out.push(h('h3', {}, 'Removed'), memberTable('removed', m.removed));
  if (m.rejected.length > 0)
    out.push(
      h('h3', {}, 'Member events that changed nothing'),
      h(
        'ul',
        { id: 'rejected' },
        m.rejected.map((r) => h('li', {}, h('code', {}, r.at), `: ${r.reason}`)),
      ),
    );
  return out;
}

async function healthView() {
  const result = h('div', { id: 'verify-result' });
  const run = async () => {
    result.replaceChildren(h('p', {}, 'Checking every log and blob on the remote...'));
    try {
      const r = await post('/api/verify', {});
      const findings = r.findings.map((f) => h('li', {}, h('code', {}, f.code), ` ${f.object}: ${f.message}`));
      result.replaceChildren(
        h(
          'p',
          { class: r.ok ? '' : 'error' },
          r.ok ? 'Healthy: ' : 'Problems found: ',
          `${r.segments} segment(s), ${r.blobs} blob(s), ${r.clients} client(s) checked.`,
        ),
        findings.length > 0 ? h('ul', {}, findings) : '',
      );
    } catch (e) {
      result.replaceChildren(h('p', { class: 'error' }, e.message));
    }
  };
  const status = await get('/api/status');
  const facts = [
    ['Folder', status.root],
    ['Remote', `${status.remote}${status.remoteAvailable ? '' : ' (unreachable)'}`],
    ['Last sync', status.lastSyncAt ? when(status.lastSyncAt) : 'never'],
    ['Changes here to publish', String(status.pendingLocal.length)],
    ['Changes to bring in', String(status.pendingRemote.length)],
    ['Open conflicts', String(status.conflicts.length)],
    ['Log faults', String(status.faults.length)],
  ];
  const table = h(
    'table',
    { id: 'status' },
    h(
      'tbody',
      {},
      facts.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))),
    ),
  );
  return [
    h('h2', {}, 'Health'),
    table,
    h('div', { class: 'row' }, h('button', { type: 'button', id: 'run-verify', onclick: run }, 'Run verify')),
    result,
  ];
}

const ROUTES = [
  [/^#\/files$/, () => filesView()],
  [/^#\/file\/(.+)$/, (m) => fileView(decodeURIComponent(m[1]))],
  [/^#\/conflicts$/, () => conflictsView()],
  [/^#\/conflict\/(.+)$/, (m) => conflictView(decodeURIComponent(m[1]))],
  [/^#\/deleted$/, () => deletedView()],
  [/^#\/clients$/, () => clientsView()],
  [/^#\/members$/, () => membersView()],
  [/^#\/health$/, () => healthView()],
  [/^/, () => activityView()],
];

let rendering = false;

async function render() {
  const hash = location.hash || '#/activity';
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === hash.replace(/^#\/(file|conflict)\/.*/, (_, k) => `#/${k === 'file' ? 'files' : 'conflicts'}`))
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  rendering = true;
  try {
    for (const [re, make] of ROUTES) {
      const m = re.exec(hash);
      if (m) {
        view.replaceChildren(...(await make(m)));
        break;
      }
    }
    view.setAttribute('data-ready', hash);
  } catch (e) {
    view.replaceChildren(h('p', { class: 'error' }, e.message), e.hint ? h('p', { class: 'muted' }, e.hint) : '');
  } finally {
    rendering = false;
  }
}

let lastPulse = '';

/** The header: the last sync, and how many conflicts are open. */
async function refreshHeader(p) {
  document.getElementById('last-sync').textContent = p.lastSyncAt ? `last sync ${when(p.lastSyncAt)}` : 'never synced';
  const open = await get('/api/conflicts');
  document.getElementById('conflict-count').textContent = open.length > 0 ? `(${open.length})` : '';
}

/** Redraws when the log changed, unless a person is typing in the view. */
async function poll() {
  try {
    const p = await get('/api/pulse');
    const now = JSON.stringify(p);
    if (now === lastPulse) return;
    await refreshHeader(p);
    const typing = document.activeElement?.tagName === 'TEXTAREA' || document.activeElement?.tagName === 'SELECT';
    if (typing || rendering) return; // (lastPulse stays: the next poll redraws)
    if (lastPulse !== '') await render();
    lastPulse = now;
  } catch (e) {
    sayError(e);
  }
}

document.getElementById('sync-now').addEventListener('click', async (ev) => {
  ev.target.disabled = true;
  say('');
  try {
    const r = await post('/api/sync', {});
    say(`Synced: ${r.eventsPublished} event(s) published; ${r.conflicts.length} open conflict(s).`);
    await render();
  } catch (e) {
    sayError(e);
  } finally {
    ev.target.disabled = false;
  }
});

window.addEventListener('hashchange', () => {
  // A notice just said (an action that then moved to another view) stays.
  if (Date.now() - saidAt > 2000) say('');
  render().then(() => view.focus());
});

get('/api/folder')
  .then((f) => {
    document.getElementById('folder-name').textContent = `${f.name}: ${f.root}`;
  })
  .catch(sayError);
render();
poll();
setInterval(poll, POLL_MS);
