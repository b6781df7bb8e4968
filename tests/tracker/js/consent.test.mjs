// Consent signals, the guest id, the vendors' ids, and the batches cut at a consent change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { page, storage, useTimers, advance, SERVER_GUEST } from './harness.mjs';

const IDS_COOKIE = '_ga=GA1.1.123456.789012; convead_guest_uid=cv-guest-1; TCPID=tc-anon-1; other=1';

function gtag(p) {
  return function () {
    p.win.dataLayer.push(arguments);
  };
}

test('vendor ids are read from their cookies', async (t) => {
  useTimers(t);
  const p = page({ cookie: IDS_COOKIE });
  p.install();
  p.win.dataLayer.push({ event: 'x' });
  await advance(t, 1000);
  assert.deepEqual(p.requests[0].body.ids, {
    ga_client_id: '123456.789012',
    convead_guest_uid: 'cv-guest-1',
    consistent_anonymous_id: 'tc-anon-1',
  });
});

test('Google consent mode: the state of every default and update so far, a batch cut at each change', async (t) => {
  useTimers(t);
  const p = page({ cookie: IDS_COOKIE });
  const g = gtag(p);
  p.install();
  g('consent', 'default', { analytics_storage: 'granted', ad_storage: 'denied', wait_for_update: 500 });
  g('event', 'page_view');
  g('consent', 'default', { ad_storage: 'granted', ad_user_data: 'DENIED' }); // a default never grants a denied type
  g('event', 'view_item');
  g('consent', 'update', { ad_storage: 'granted' });
  g('event', 'purchase');
  await advance(t, 1000);
  const batches = p.requests.map((r) => [r.body.consent, r.body.events.map((e) => e.payload[1])]);
  assert.deepEqual(batches, [
    [undefined, ['default']],
    [{ analytics_storage: 'granted', ad_storage: 'denied' }, ['page_view', 'default']],
    [{ analytics_storage: 'granted', ad_storage: 'denied', ad_user_data: 'denied' }, ['view_item', 'update']],
    [{ analytics_storage: 'granted', ad_storage: 'granted', ad_user_data: 'denied' }, ['purchase']],
  ]);
});

test('analytics denied: no anonymous_id, no stored id, no ids; granted later: all again', async (t) => {
  useTimers(t);
  const store = storage({ trackway_id: 'old-guest' });
  const p = page({ cookie: IDS_COOKIE, storage: store });
  const g = gtag(p);
  p.install();
  g('consent', 'default', { analytics_storage: 'denied' });
  p.win.dataLayer.push({ event: 'while_denied' });
  await advance(t, 1000);
  assert.equal(store.map.has('trackway_id'), false, 'the stored id is removed');
  // the default's own call, recorded before it applied, goes with the denial too (a withdrawal wins)
  const denied = p.requests.filter((r) => r.body.consent && r.body.consent.analytics_storage === 'denied');
  assert.deepEqual(denied.flatMap((r) => r.body.events.map((e) => e.payload.event || e.payload[0])), ['consent', 'while_denied']);
  assert.equal(p.requests.length, denied.length);
  assert.ok(denied.every((r) => !('anonymous_id' in r.body) && !('ids' in r.body)));
  assert.deepEqual([...store.map.keys()], [], 'nothing stored but the (now empty) queue');
  g('consent', 'update', { analytics_storage: 'granted' });
  p.win.dataLayer.push({ event: 'granted' });
  await advance(t, 1000);
  const last = p.requests.at(-1).body;
  assert.deepEqual(last.events.map((e) => e.payload.event), ['granted']);
  assert.equal(last.consent.analytics_storage, 'granted');
  assert.equal('anonymous_id' in last, false, 'the old id was removed: the collector gives a new one');
  assert.equal(store.map.get('trackway_id'), SERVER_GUEST, "the answer's id, adopted");
  assert.equal(last.ids.ga_client_id, '123456.789012');
});

test('queued calls of a denied state keep it when sent later', async (t) => {
  useTimers(t);
  const p = page({ cookie: IDS_COOKIE, onLine: false });
  const g = gtag(p);
  p.install();
  g('consent', 'default', { analytics_storage: 'denied' });
  p.win.dataLayer.push({ event: 'while_denied' });
  g('consent', 'update', { analytics_storage: 'granted' });
  p.win.navigator.onLine = true;
  p.fire('online');
  await advance(t, 1000);
  const denied = p.requests.find((r) => r.body.events.some((e) => e.payload.event === 'while_denied')).body;
  assert.equal(denied.consent.analytics_storage, 'denied');
  assert.equal('anonymous_id' in denied, false);
  assert.equal('ids' in denied, false);
});

// [the koalect_consent cookie, the signal sent, analytics denied]
const KOALECT = [
  ['functional%20analytics', 'functional analytics', false],
  ['functional+analytics+marketing', 'functional analytics marketing', false],
  ['functional', 'functional', true],
  ['', '', true],
  ['"functional analytics"', '"functional analytics"', false],   // quoted, as Django and SimpleCookie write it
];

for (const [cookie, signal, denied] of KOALECT) {
  test(`Koalect's cookie ${JSON.stringify(cookie)}: sent as ${JSON.stringify(signal)}, analytics ${denied ? 'denied' : 'allowed'}`, async (t) => {
    useTimers(t);
    const p = page({ cookie: `koalect_consent=${cookie}; _ga=GA1.1.1.2`, storage: storage({ trackway_id: 'g' }) });
    p.install();
    p.win.dataLayer.push({ event: 'view_step' });
    await advance(t, 1000);
    const body = p.requests[0].body;
    assert.deepEqual(body.consent, { koalect_consent: signal });
    assert.equal('anonymous_id' in body, !denied);
    assert.equal('ids' in body, !denied);
    assert.equal(p.win.localStorage.getItem('trackway_id'), denied ? null : 'g');
  });
}

test('a denial wins: granted by Google consent mode, denied by the Koalect cookie', async (t) => {
  useTimers(t);
  const p = page({ cookie: 'koalect_consent=functional' });
  const g = gtag(p);
  p.install();
  g('consent', 'update', { analytics_storage: 'granted' });
  p.win.dataLayer.push({ event: 'x' });
  await advance(t, 1000);
  const body = p.requests.at(-1).body;
  assert.deepEqual(body.consent, { analytics_storage: 'granted', koalect_consent: 'functional' });
  assert.equal('anonymous_id' in body, false);
});

test("Commanders Act: categories from a cact call's user, then from the CMP's consent object", async (t) => {
  useTimers(t);
  let cmp = null;
  const cact = function (command, cb) {
    if (command === 'consent.onUpdate') cmp = cb;
    if (command === 'consent.get') cb({ consent: { status: 'mixed', categories: { 1: { status: 'on' }, 2: { status: 'off' } } } });
  };
  const p = page({ globals: { cact } });
  p.install();
  p.win.cact('trigger', 'page_view', { page_type: 'home' });
  p.win.cact('trigger', 'login', { user: { id: 'u1', consent_categories: [1, 3] } });
  p.win.cact('trigger', 'search', { search_term: 'x' });
  cmp({ consent: { categories: { 1: { status: 'on' }, 4: { status: 'on' }, 5: { status: 'unset' } } } });
  p.win.cact('trigger', 'view_cart', {});
  await advance(t, 1000);
  const batches = p.requests.map((r) => [r.body.consent, r.body.events.map((e) => e.payload[1])]);
  assert.deepEqual(batches, [
    [{ categories: ['1'] }, ['page_view', 'login']],
    [{ categories: ['1', '3'] }, ['search']],
    [{ categories: ['1', '4'] }, ['view_cart']],
  ]);
  assert.ok(p.calls().every((c) => c.dialect === 'commanders-act'));
});

test("the server's anonymous_id is adopted and stored", async (t) => {
  useTimers(t);
  const p = page({ answers: [{ status: 200, extra: { anonymous_id: 'from-cookie-1' } }] });
  p.install();
  p.win.dataLayer.push({ event: 'a' });
  await advance(t, 1000);
  assert.equal(p.win.localStorage.getItem('trackway_id'), 'from-cookie-1');
  p.win.dataLayer.push({ event: 'b' });
  await advance(t, 1000);
  assert.equal(p.requests[1].body.anonymous_id, 'from-cookie-1');
});

test("the server's anonymous_id is not stored while analytics is denied", async (t) => {
  useTimers(t);
  const p = page({ answers: [{ status: 200, extra: { anonymous_id: 'from-cookie-1' } }] });
  const g = gtag(p);
  p.install();
  g('consent', 'default', { analytics_storage: 'denied' });
  await advance(t, 1000);
  assert.equal(p.win.localStorage.getItem('trackway_id'), null);
});

test("Koalect's cookie changed later (the visitor accepts analytics) is read on the next task", async (t) => {
  useTimers(t);
  const p = page({ cookie: 'koalect_consent=functional' });
  p.install();
  p.win.dataLayer.push({ event: 'before' });
  await advance(t, 100);
  p.win.document.cookie = 'koalect_consent=functional%20analytics';
  p.win.dataLayer.push({ event: 'after' });
  await advance(t, 1000);
  const batches = p.requests.map((r) => [r.body.consent.koalect_consent, 'anonymous_id' in r.body, r.body.events.map((e) => e.payload.event)]);
  assert.deepEqual(batches, [
    ['functional', false, ['before']],
    ['functional analytics', true, ['after']],
  ]);
});

test('a consent default denying analytics, already in the dataLayer at install: no id goes with any batch', async (t) => {
  useTimers(t);
  const store = storage();
  const p = page({
    cookie: IDS_COOKIE,
    storage: store,
    dataLayer: [
      { 0: 'consent', 1: 'default', 2: { analytics_storage: 'denied' }, length: 3 }, // not an arguments object: a plain object
      ['consent', 'default', { analytics_storage: 'denied' }],
      { event: 'page_view' },
    ],
  });
  p.install();
  await advance(t, 1000);
  assert.equal(p.calls().length, 3);
  for (const r of p.requests) {
    assert.equal('anonymous_id' in r.body, false);
    assert.equal('ids' in r.body, false);
  }
  assert.equal(store.map.has('trackway_id'), false);
});

test('with the Cookie Store API, cookies are read once and again only after a change event', async (t) => {
  useTimers(t);
  const p = page({ cookie: 'koalect_consent=functional' });
  let reads = 0;
  let cookie = 'koalect_consent=functional';
  Object.defineProperty(p.win.document, 'cookie', { get: () => (reads++, cookie), configurable: true });
  const listeners = [];
  p.win.cookieStore = { addEventListener: (type, f) => type === 'change' && listeners.push(f) };
  p.install();
  for (let i = 0; i < 3; i++) {
    p.win.dataLayer.push({ event: 'burst' + i });
    await advance(t, 100);
  }
  assert.equal(reads, 1, 'one read for the install and every later task');
  cookie = 'koalect_consent=functional%20analytics';
  listeners.forEach((f) => f({ type: 'change' }));
  p.win.dataLayer.push({ event: 'after' });
  await advance(t, 1000);
  assert.equal(reads, 2);
  const consents = p.requests.map((r) => [r.body.consent.koalect_consent, r.body.events.map((e) => e.payload.event)]);
  assert.deepEqual(consents, [
    ['functional', ['burst0', 'burst1', 'burst2']],
    ['functional analytics', ['after']],
  ]);
});

test('a withdrawal in the handler that pushes wins: the batch sends the denial, not the grant read before it', async (t) => {
  // the cookies were read before the handler set the cookie, so the push was recorded as
  // granted; the batch then sent that grant with no id, and the collector filled in its
  // guest cookie's id
  useTimers(t);
  const p = page({ cookie: 'koalect_consent=functional%20analytics', storage: storage({ trackway_id: 'g' }) });
  p.install();
  p.win.dataLayer.push({ event: 'before' });
  p.win.document.cookie = 'koalect_consent=functional';
  p.win.dataLayer.push({ event: 'after' });
  await advance(t, 1000);
  const body = p.requests.at(-1).body;
  assert.deepEqual(body.consent, { koalect_consent: 'functional' });
  assert.equal('anonymous_id' in body, false);
  assert.equal(p.win.localStorage.getItem('trackway_id'), null);
});
