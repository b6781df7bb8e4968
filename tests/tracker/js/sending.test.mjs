// How calls leave the page: batches, beacons, retries, offline, storage between page views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { page, storage, useTimers, advance, settle, ENDPOINT, KEY, QKEY, SERVER_GUEST } from './harness.mjs';

const push = (p, n, make = (i) => ({ event: 'e' + i })) => {
  for (let i = 0; i < n; i++) p.win.dataLayer.push(make(i));
};

test('the envelope: key, sent_at, guest id, context, events; POSTed as text/plain with credentials', async (t) => {
  useTimers(t);
  const p = page();
  p.install();
  push(p, 1);
  await advance(t, 1000);
  assert.equal(p.requests.length, 1);
  const { url, init, body } = p.requests[0];
  assert.equal(url, ENDPOINT);
  assert.equal(init.method, 'POST');
  assert.equal(init.headers['Content-Type'], 'text/plain;charset=UTF-8');
  assert.equal(init.credentials, 'include');
  assert.equal(init.keepalive, false, 'keepalive only for a page going away');
  assert.equal(body.key, KEY);
  assert.ok(!Number.isNaN(Date.parse(body.sent_at)));
  assert.equal('anonymous_id' in body, false, 'no guest id yet: the collector gives one');
  assert.equal(body.cookie, true, 'the collector keeps the guest id in its cookie');
  assert.equal(p.win.localStorage.getItem('trackway_id'), SERVER_GUEST, "the answer's id, adopted");
  push(p, 1);
  await advance(t, 1000);
  assert.equal(p.requests[1].body.anonymous_id, SERVER_GUEST, 'sent with every batch after');
  assert.deepEqual(body.context, {
    page: { url: 'https://shop.example/p?x=1', path: '/p', referrer: 'https://ref.example/', title: 'Shop' },
    viewport: { width: 1280, height: 720 },
    language: 'fr-BE',
    library: { name: 'trackway.js', version: '1' },
  });
  assert.equal('consent' in body, false, 'no consent signal known');
  assert.equal('ids' in body, false, 'no vendor id cookie');
  assert.deepEqual(body.events.map((e) => e.payload), [{ event: 'e0' }]);
});

test('calls wait 1 s after the last one, then go in one request', async (t) => {
  useTimers(t);
  const p = page();
  p.install();
  push(p, 3);
  await advance(t, 900);
  push(p, 2);
  await advance(t, 900);
  assert.equal(p.requests.length, 0, 'not before 1 s of quiet');
  await advance(t, 200);
  assert.equal(p.requests.length, 1);
  assert.equal(p.calls().length, 5);
});

// [calls, the most requests, the size of each call's payload]
const BATCHES = [
  [50, 1, 10],
  [200, 5, 10],
  [200, 5, 1000],
  [300, 20, 2900],
];

for (const [n, most, size] of BATCHES) {
  test(`${n} calls of ${size} characters: at most ${most} requests, each body < 60,000 bytes, each call once`, async (t) => {
    useTimers(t);
    const p = page();
    p.install();
    push(p, n, (i) => ({ event: 'e' + i, pad: 'é'.repeat(size / 2) }));
    await advance(t, 1000);
    assert.ok(p.requests.length <= most, `${p.requests.length} requests`);
    assert.deepEqual(p.payloads().map((x) => x.event), Array.from({ length: n }, (_, i) => 'e' + i));
    for (const r of p.requests) {
      assert.ok(Buffer.byteLength(r.text) < 60000, `${Buffer.byteLength(r.text)} bytes`);
      assert.ok(r.body.events.length <= 500, `${r.body.events.length} calls in one request`);
      assert.equal(r.init.keepalive, false);
    }
    assert.equal(p.stored(), null, 'the queue is empty once every call is confirmed');
  });
}

test('50 queued calls go at once, before the 1 s pause', async (t) => {
  useTimers(t);
  const p = page();
  p.install();
  push(p, 50);
  await advance(t, 10, 1);   // the task after the pushes, not the 1 s timer
  assert.equal(p.requests.length, 1);
  assert.equal(p.calls().length, 50);
});

test('a call larger than a body goes alone, by fetch without keepalive', async (t) => {
  useTimers(t);
  const p = page();
  p.install();
  push(p, 1);
  p.win.dataLayer.push({ event: 'big', parts: Array.from({ length: 10 }, () => 'z'.repeat(9000)) });
  push(p, 1);
  await advance(t, 1000);
  const big = p.requests.find((r) => r.body.events.some((e) => e.payload.event === 'big'));
  assert.equal(big.body.events.length, 1);
  assert.equal(big.init.keepalive, false);
  assert.ok(Buffer.byteLength(big.text) > 60000);
  assert.equal(p.calls().length, 3);
});

test('a hidden page sends its queue by sendBeacon; the calls stay stored, marked, and go again on the next load', async (t) => {
  useTimers(t);
  const store = storage();
  const p = page({ storage: store });
  p.install();
  push(p, 3);
  p.hide();
  assert.equal(p.requests.length, 0);
  assert.equal(p.beacons.length, 1);
  assert.equal(p.beacons[0].url, ENDPOINT);
  assert.equal(p.beacons[0].body.key, KEY);
  assert.deepEqual(p.beacons[0].body.events.map((e) => e.payload.event), ['e0', 'e1', 'e2']);
  const stored = p.stored();
  assert.equal(stored.q.length, 3);
  assert.ok(stored.q.every((c) => c.b === 1));
  await advance(t, 2000);
  assert.equal(p.requests.length, 0, 'not sent again on this page');
  // the next page view sends them again (the server deduplicates by id)
  const next = page({ storage: store });
  next.install();
  await advance(t, 100);
  assert.deepEqual(next.calls().map((c) => c.id), p.beacons[0].body.events.map((e) => e.id));
  assert.equal(next.stored(), null);
});

test('a page visible again sends what went by beacon by fetch, and it leaves the queue once confirmed', async (t) => {
  // marked calls stayed for the life of the page: 30 switches of tabs kept 900, every push re-stored them
  useTimers(t);
  const p = page();
  p.install();
  for (let round = 0; round < 3; round++) {
    push(p, 5, (i) => ({ event: `r${round}.${i}` }));
    p.hide();
    assert.equal(p.beacons.length, round + 1);
    p.win.document.visibilityState = 'visible';
    p.fire('visibilitychange');
    await advance(t, 100);
    assert.equal(p.stored(), null, `round ${round}: the queue is empty once confirmed`);
  }
  const beaconed = p.beacons.flatMap((b) => b.body.events.map((e) => e.id));
  assert.deepEqual(p.calls().map((c) => c.id), beaconed, 'each beaconed call once more by fetch, the same id');
});

test('pagehide sends by beacon too; a refused beacon falls back to fetch keepalive', async (t) => {
  useTimers(t);
  const p = page({ beacon: false });
  p.install();
  push(p, 2);
  p.fire('pagehide');
  await settle();
  assert.equal(p.beacons.length, 0);
  assert.equal(p.requests.length, 1);
  assert.equal(p.requests[0].init.keepalive, true);
  assert.equal(p.calls().length, 2);
  assert.equal(p.stored(), null, 'confirmed by a 200: removed');
});

test('beacon bodies stay under 60,000 bytes', async (t) => {
  useTimers(t);
  const p = page({ answers: ['network', 'network', 'network', 'network'] });
  p.install();
  push(p, 40, (i) => ({ event: 'e' + i, pad: 'x'.repeat(3000) }));
  p.hide();
  assert.ok(p.beacons.length >= 2);
  for (const b of p.beacons) assert.ok(Buffer.byteLength(b.text) < 60000);
  // the calls of the request in flight are beaconed too (a plain fetch ends with the page):
  // every call goes by beacon; those also in flight are deduplicated by the server
  const beaconed = p.beacons.flatMap((b) => b.body.events).map((e) => e.id);
  assert.equal(new Set(beaconed).size, 40);
  assert.equal(beaconed.length, 40);
});

for (const r of [0, 0.999]) {
  test(`503, 503 then 200: retried after 1 s then 2 s, less a jitter of up to half (random ${r}), each call stored once`, async (t) => {
    useTimers(t);
    t.mock.method(Math, 'random', () => r);
    const first = 500 + 500 * r;
    const second = 1000 + 1000 * r;
    const p = page({ answers: [503, 503, 200] });
    p.install();
    push(p, 2);
    await advance(t, 1000, 10);
    assert.equal(p.requests.length, 1);
    assert.equal(p.stored().q.length, 2, 'kept while unconfirmed');
    await advance(t, first - 20, 10);
    assert.equal(p.requests.length, 1, 'not before the first pause');
    await advance(t, 40, 10);
    assert.equal(p.requests.length, 2, 'the first retry');
    await advance(t, second - 40, 10);
    assert.equal(p.requests.length, 2, 'not before the second pause');
    await advance(t, 40, 10);
    assert.equal(p.requests.length, 3, 'the second retry');
    const ids = p.requests.map((q) => q.body.events.map((e) => e.id).join());
    assert.equal(new Set(ids).size, 1, 'the same calls, with the same ids');
    assert.equal(p.stored(), null);
    await advance(t, 5000);
    assert.equal(p.requests.length, 3);
  });
}

test('retry pauses double from 1 s up to 60 s', async (t) => {
  useTimers(t);
  t.mock.method(Math, 'random', () => 0.999);
  const p = page({ answers: Array(10).fill(500) });
  p.install();
  push(p, 1);
  const times = [];
  for (let ms = 0; ms < 400000 && p.requests.length < 10; ms += 100) {
    const before = p.requests.length;
    await advance(t, 100, 100);
    if (p.requests.length > before) times.push(ms + 100);
  }
  const gaps = times.slice(1).map((x, i) => Math.round((x - times[i]) / 100) / 10);
  assert.deepEqual(gaps, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
});

for (const status of [500, 502, 408, 429, 'network']) {
  test(`answer ${status}: kept and retried`, async (t) => {
    useTimers(t);
    const p = page({ answers: [status] });
    p.install();
    push(p, 1);
    await advance(t, 2100);
    assert.equal(p.requests.length, 2);
    assert.equal(p.requests[0].body.events[0].id, p.requests[1].body.events[0].id);
  });
}

for (const status of [400, 401, 403, 413]) {
  test(`answer ${status}: dropped, not retried`, async (t) => {
    useTimers(t);
    const p = page({ answers: [status], search: '?trackway_debug=1' });
    p.install();
    push(p, 1);
    await advance(t, 10000);
    assert.equal(p.requests.length, 1);
    assert.equal(p.stored(), null);
    assert.ok(p.logs.some((l) => l.join(' ').includes(`answer ${status}`) && l.join(' ').includes('dropped')));
  });
}

test('offline: nothing is tried; online: sent at once', async (t) => {
  useTimers(t);
  const p = page({ onLine: false });
  p.install();
  push(p, 60);
  await advance(t, 5000);
  p.hide();
  assert.equal(p.requests.length + p.beacons.length, 0);
  assert.equal(p.stored().q.length, 60);
  p.win.navigator.onLine = true;
  p.fire('online');
  await advance(t, 100);
  assert.equal(p.calls().length, 60);
});

test("a page with a long URL: fewer calls a batch, so the collector's 8 MiB bound on copied context holds", async (t) => {
  useTimers(t);
  const p = page({ onLine: false });
  p.win.location.href = 'https://shop.example/p?q=' + 'x'.repeat(20000);
  p.install();
  push(p, 900, (i) => ({ e: i }));   // tiny calls: 500 of them fit in one body beside a 20 kB context
  p.win.navigator.onLine = true;
  p.fire('online');
  await advance(t, 5000);
  assert.deepEqual(p.payloads().map((x) => x.e), Array.from({ length: 900 }, (_, i) => i));
  for (const r of p.requests) {
    const shared = Buffer.byteLength(JSON.stringify(r.body.context)) + Buffer.byteLength(JSON.stringify(r.body.consent ?? null));
    assert.ok(shared > 20000, `${shared} bytes of context`);
    assert.ok(shared * r.body.events.length <= 8 * 1024 * 1024, `${r.body.events.length} calls x ${shared} bytes`);
    assert.ok(Buffer.byteLength(r.text) < 60000);
  }
});

test('online cuts a backoff short', async (t) => {
  useTimers(t);
  const p = page({ answers: ['network', 'network', 'network'] });
  p.install();
  push(p, 1);
  await advance(t, 1000);
  await advance(t, 1000);
  await advance(t, 2000);
  const n = p.requests.length;
  p.fire('online');
  await settle();
  assert.equal(p.requests.length, n + 1);
});

test("a previous page's queue is sent at install, with its own context", async (t) => {
  useTimers(t);
  const store = storage();
  const first = page({ storage: store, onLine: false });
  first.install();
  push(first, 2);
  first.fire('pagehide');
  const next = page({ storage: store });
  next.win.location = { href: 'https://shop.example/next', pathname: '/next', search: '' };
  next.install();
  await settle();
  assert.equal(next.requests.length, 1, 'at install, without waiting');
  assert.equal(next.requests[0].body.context.page.url, 'https://shop.example/p?x=1');
  next.win.dataLayer.push({ event: 'new' });
  await advance(t, 1000);
  assert.equal(next.requests.length, 2);
  assert.equal(next.requests[1].body.context.page.path, '/next');
  assert.deepEqual(next.payloads().map((x) => x.event), ['e0', 'e1', 'new']);
  assert.equal(next.stored(), null);
});

// Whatever another script left under the queue's key, the tracker installs and sends.
const NOT_OURS = [
  ['text that is not JSON', '{oops'],
  ['JSON null', 'null'],
  ['a number', '42'],
  ['no groups', '{"q": [{"i": "x", "t": "{}", "g": "g1"}]}'],
  ['groups null', '{"q": [{"i": "x", "t": "{}", "g": "g1"}], "g": null}'],
  ['calls not a list', '{"q": "calls", "g": {}}'],
  ['a call without a group', '{"q": [{"i": "x", "t": "{}", "g": "g9"}, null, 7], "g": {}}'],
  ['a group that is not an object', '{"q": [{"i": "x", "t": "{}", "g": "g1"}], "g": {"g1": 7}}'],
  ['a group without a context', '{"q": [{"i": "x", "t": "{}", "g": "g1"}], "g": {"g1": {"c": null}}}'],
  // a valid call whose group is named "__proto__": a key like any other, the call goes
  ['a group named __proto__', '{"q": [{"i": "x", "t": "{\\"id\\": \\"x\\", \\"payload\\": {\\"event\\": \\"old\\"}}", "g": "__proto__"}], "g": {"__proto__": {"c": {}}}}', ['old']],
  ['a group named toString', '{"q": [{"i": "x", "t": "{}", "g": "toString"}], "g": {}}'],
  ['a call whose text is not JSON', '{"q": [{"i": "x", "t": "oops", "g": "g1"}], "g": {"g1": {"c": {}}}}'],
];
for (const [name, text, before = []] of NOT_OURS) {
  test(`a stored queue that is not ours (${name}) is ignored; the page's calls still go`, async (t) => {
    useTimers(t);
    const p = page({ storage: storage({ [QKEY]: text }) });
    p.install();
    assert.equal(typeof p.win.trackway, 'function', 'installed');
    push(p, 2);
    await advance(t, 1000);
    assert.deepEqual(p.payloads().map((x) => x.event), [...before, 'e0', 'e1']);
    assert.equal(p.stored(), null, 'nothing left behind');
  });
}

test("a stored call with a valid group still goes when another stored call is not ours", async (t) => {
  useTimers(t);
  const good = { i: 'v1.1', t: JSON.stringify({ id: 'v1.1', payload: { event: 'kept' } }), g: 'g1' };
  const text = JSON.stringify({ q: [{ i: 'x', t: 'oops', g: 'g1' }, good, { i: 'y', t: '{}', g: 'g2' }], g: { g1: { c: {} }, g2: 5 } });
  const p = page({ storage: storage({ [QKEY]: text }) });
  p.install();
  await advance(t, 100);
  assert.deepEqual(p.payloads().map((x) => x.event), ['kept']);
});

test('the stored queue is bounded: 1,000 calls, the oldest dropped', async (t) => {
  useTimers(t);
  const p = page({ onLine: false });
  p.install();
  push(p, 1100);
  p.fire('pagehide');
  const q = p.stored().q;
  assert.equal(q.length, 1000);
  assert.equal(JSON.parse(q[0].t).payload.event, 'e100');
});

test('the stored queue is bounded to about 2 MB', async (t) => {
  useTimers(t);
  const p = page({ onLine: false });
  p.install();
  push(p, 300, (i) => ({ event: 'e' + i, pad: 'p'.repeat(9000) }));
  p.fire('pagehide');
  const size = p.win.localStorage.getItem(QKEY).length;
  assert.ok(size < 2100000 && size > 1800000, `${size}`);
});

test("another tab's stored calls are kept when this tab saves", async (t) => {
  useTimers(t);
  const store = storage();
  const a = page({ storage: store, onLine: false });
  const b = page({ storage: store, onLine: false });
  a.install();
  b.install();
  push(a, 2, (i) => ({ event: 'a' + i }));
  push(b, 2, (i) => ({ event: 'b' + i }));
  a.fire('pagehide');
  b.fire('pagehide');
  const events = b.stored().q.map((c) => JSON.parse(c.t).payload.event).sort();
  assert.deepEqual(events, ['a0', 'a1', 'b0', 'b1']);
});

test("each answer is dispatched as a 'trackway:answer' event on window, for a page's own display", async (t) => {
  useTimers(t);
  const p = page();
  const seen = [];
  p.win.CustomEvent = class { constructor(type, init) { this.type = type; this.detail = init.detail; } };
  p.win.dispatchEvent = (e) => { seen.push(e); throw new Error('a listener that throws'); };
  p.install();
  push(p, 2);
  await advance(t, 1000);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].type, 'trackway:answer');
  assert.equal(seen[0].detail.accepted, 2);
  push(p, 1);
  await advance(t, 1000);
  assert.equal(p.requests.length, 2, 'a throwing listener changes nothing');
});

test("a 503's Retry-After is honoured: no retry sooner than it asks (within 60 s)", async (t) => {
  useTimers(t);
  t.mock.method(Math, 'random', () => 0);
  const p = page({ answers: [{ status: 503, json: { error: 'busy' }, headers: { 'retry-after': '5' } }, 200] });
  p.install();
  push(p, 1);
  await advance(t, 1000, 10);
  assert.equal(p.requests.length, 1);
  await advance(t, 4900, 100);
  assert.equal(p.requests.length, 1, 'not before the 5 s asked (the backoff alone would be 0.5 s)');
  await advance(t, 200, 100);
  assert.equal(p.requests.length, 2);
  assert.equal(p.stored(), null, 'sent, confirmed, removed');
});

test("a page's fetch that throws is a network error: retried, not the end of sending", async (t) => {
  // flush() marked the request in flight before calling fetch, and nothing cleared it
  useTimers(t);
  const p = page();
  const real = p.win.fetch;
  let calls = 0;
  p.win.fetch = function (url, init) {
    if (++calls === 1) throw new TypeError('a shim that throws once');
    return real(url, init);
  };
  p.install();
  p.win.dataLayer.push({ event: 'first' });
  await advance(t, 1000);
  assert.equal(calls, 1);
  assert.equal(p.requests.length, 0);
  await advance(t, 3000); // the backoff's first pause, at most 1 s
  p.win.dataLayer.push({ event: 'second' });
  await advance(t, 3000);
  assert.deepEqual(p.payloads().map((x) => x.event), ['first', 'second']);
});
