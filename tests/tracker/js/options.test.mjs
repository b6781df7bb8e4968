// The script tag's options, and the debug log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { page, tracker, storage, useTimers, advance } from './harness.mjs';

function script(attrs, src = 'https://collector.example/t.js') {
  return { src, getAttribute: (name) => (name in attrs ? attrs[name] : null) };
}

function documentWith(current, all = []) {
  return { currentScript: current, querySelectorAll: () => all };
}

// [name, document, options expected]
const OPTIONS = [
  ['data-key on the current script', documentWith(script({ 'data-key': 'k1' })), { key: 'k1', endpoint: 'https://collector.example/collect' }],
  ['data-endpoint', documentWith(script({ 'data-key': 'k1', 'data-endpoint': 'https://c.example/x' })), { key: 'k1', endpoint: 'https://c.example/x' }],
  ['no current script: the last t.js tag with a key', documentWith(null, [script({ 'data-key': 'a' }), script({ 'data-key': 'b' }, 'https://other.example:8443/t.js')]), { key: 'b', endpoint: 'https://other.example:8443/collect' }],
];

for (const [name, doc, expected] of OPTIONS) {
  test(`options: ${name}`, () => {
    const warnings = [];
    const win = { document: doc, console: { warn: (m) => warnings.push(m) } };
    assert.deepEqual(tracker.readOptions(win), expected);
    assert.deepEqual(warnings, []);
  });
}

test('options: without data-key, one warning and nothing installed', () => {
  const warnings = [];
  const win = { document: documentWith(script({})), console: { warn: (m) => warnings.push(m) } };
  assert.equal(tracker.readOptions(win), null);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /data-key/);
});

// [how debug is turned on]
const DEBUG = [
  ['?trackway_debug=1', { search: '?a=b&trackway_debug=1' }, null],
  ["localStorage.trackway_debug = '1'", { storage: storage({ trackway_debug: '1' }) }, null],
  ["trackway('debug', true)", {}, (w) => w.trackway('debug', true)],
];

for (const [name, opts, turnOn] of DEBUG) {
  test(`debug by ${name}: each call and each result's verdict and issues are logged`, async (t) => {
    useTimers(t);
    const answer = {
      status: 200,
      json: {
        accepted: 0,
        rejected: 1,
        results: [{ index: 0, dialect: 'gtm-ga4', accepted: false, events: [], issues: [
          { path: '$.ecommerce.currency', code: 'CURRENCY_INVALID', severity: 'error', message: 'expected an ISO 4217 code, got "EU"' },
        ] }],
      },
    };
    const p = page({ ...opts, answers: [answer] });
    p.install();
    if (turnOn) turnOn(p.win);
    p.win.dataLayer.push({ event: 'purchase', ecommerce: { currency: 'EU' } });
    await advance(t, 1000);
    const lines = p.logs.map((l) => l.slice(1).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' '));
    assert.ok(lines.includes('trackway: call dataLayer {"event":"purchase","ecommerce":{"currency":"EU"}}'), lines.join('\n'));
    assert.ok(lines.includes('trackway: result 0 gtm-ga4 rejected'), lines.join('\n'));
    assert.ok(lines.includes('trackway:   error $.ecommerce.currency CURRENCY_INVALID expected an ISO 4217 code, got "EU"'), lines.join('\n'));
  });
}

test("no log without debug, and trackway('debug', false) turns it off", async (t) => {
  useTimers(t);
  const p = page({ search: '?trackway_debug=1' });
  p.install();
  p.win.trackway('debug', false);
  p.win.dataLayer.push({ event: 'x' });
  await advance(t, 1000);
  assert.equal(p.requests.length, 1);
  assert.deepEqual(p.logs, []);
});

test('in a browser (no module), the script installs itself from its own tag', async (t) => {
  const { readFileSync } = await import('node:fs');
  const vm = await import('node:vm');
  const source = readFileSync(new URL('../../../src/trackway/tracker/t.js', import.meta.url), 'utf8');
  useTimers(t);
  const p = page({ dataLayer: [{ event: 'before' }] });
  p.win.document.currentScript = script({ 'data-key': 'k-browser' }, 'https://c.example/t.js');
  p.win.document.querySelectorAll = () => [];
  const context = vm.createContext({ window: p.win, URL, Proxy, WeakSet, Uint8Array, ArrayBuffer, JSON, Date, Math });
  vm.runInContext(source, context);
  assert.equal(typeof p.win.trackway, 'function');
  p.win.dataLayer.push({ event: 'after' });
  await advance(t, 1000);
  assert.equal(p.requests[0].url, 'https://c.example/collect');
  assert.equal(p.requests[0].body.key, 'k-browser');
  assert.deepEqual(p.payloads().map((x) => x.event), ['before', 'after']);
});

test('in a browser, a tag without data-key warns once and installs nothing', async () => {
  const { readFileSync } = await import('node:fs');
  const vm = await import('node:vm');
  const source = readFileSync(new URL('../../../src/trackway/tracker/t.js', import.meta.url), 'utf8');
  const p = page();
  p.win.document.currentScript = script({}, 'https://c.example/t.js');
  p.win.document.querySelectorAll = () => [];
  vm.runInContext(source, vm.createContext({ window: p.win, URL }));
  assert.equal(p.win.trackway, undefined);
  assert.equal(p.win.dataLayer, undefined);
  assert.equal(p.logs.filter((l) => l[0] === 'warn').length, 1);
});

test("trackway('debug', true) queued by the snippet logs the entries already in the dataLayer too", async (t) => {
  useTimers(t);
  const p = page({ dataLayer: [{ event: 'early' }] });
  const w = p.win;
  w.trackway = function () {
    (w.trackway.q = w.trackway.q || []).push(arguments);
  };
  w.trackway('debug', true);
  p.install();
  assert.ok(p.logs.some((l) => l[2] === 'call' && l[3] === 'dataLayer' && l[4].event === 'early'), JSON.stringify(p.logs));
});
