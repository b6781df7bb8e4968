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
