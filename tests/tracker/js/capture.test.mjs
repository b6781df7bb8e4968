// What the tracker records: dataLayer entries, gtag arguments, cact/convead/insend calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { page, useTimers, advance } from './harness.mjs';

test('entries pushed before and after install are sent in order, once each', async (t) => {
  useTimers(t);
  const p = page({ dataLayer: [{ event: 'before_1' }, { event: 'before_2' }] });
  p.install();
  p.win.dataLayer.push({ event: 'after_1' }, { event: 'after_2' });
  assert.equal(p.win.dataLayer.length, 4, 'the page still sees every entry');
  await advance(t, 1000);
  assert.deepEqual(p.payloads().map((x) => x.event), ['before_1', 'before_2', 'after_1', 'after_2']);
  const ids = p.calls().map((c) => c.id);
  assert.equal(new Set(ids).size, 4, 'a distinct id per call');
  assert.ok(ids.every((id) => /^[0-9a-f-]{36}\.[0-9]+$/.test(id)), 'the page view id and a number');
  assert.ok(p.calls().every((c) => !('dialect' in c)), 'dataLayer calls carry no dialect');
});

test('a dataLayer is created when the page has none', async (t) => {
  useTimers(t);
  const p = page();
  p.install();
  assert.ok(Array.isArray(p.win.dataLayer));
  p.win.dataLayer.push({ event: 'x' });
  await advance(t, 1000);
  assert.deepEqual(p.payloads(), [{ event: 'x' }]);
});

test('an existing push override keeps working, returns its result and sees every entry once', async (t) => {
  useTimers(t);
  const dl = [{ event: 'early' }];
  const seen = [];
  dl.push = function () {
    seen.push(...arguments);
    return Array.prototype.push.apply(this, arguments) * 10;
  };
  const p = page({ dataLayer: dl });
  p.install();
  const r = p.win.dataLayer.push({ event: 'a' });
  p.win.dataLayer.push({ event: 'b' });
  assert.equal(r, 20, "the override's own result comes back");
  assert.deepEqual(seen.map((e) => e.event), ['a', 'b']);
  assert.equal(dl.length, 3);
  await advance(t, 1000);
  assert.deepEqual(p.payloads().map((x) => x.event), ['early', 'a', 'b']);
});

test('a push assigned after install (GTM loading later) is captured once per entry', async (t) => {
  useTimers(t);
  const p = page({ dataLayer: [] });
  p.install();
  const dl = p.win.dataLayer;
  const seen = [];
  // GTM's way: keep the current push and call it from its own
  const before = dl.push;
  dl.push = function () {
    const n = before.apply(dl, arguments);
    seen.push(...arguments);
    return n;
  };
  // and a second library wrapping again
  const second = dl.push;
  dl.push = function () {
    return second.apply(dl, arguments);
  };
  dl.push({ event: 'one' });
  dl.push({ event: 'two' }, { event: 'three' });
  assert.deepEqual(seen.map((e) => e.event), ['one', 'two', 'three']);
  assert.equal(dl.length, 3);
  await advance(t, 1000);
  assert.deepEqual(p.payloads().map((x) => x.event), ['one', 'two', 'three']);
});

test('a push made from inside another push is recorded too', async (t) => {
  useTimers(t);
  const p = page({ dataLayer: [] });
  p.install();
  const dl = p.win.dataLayer;
  const before = dl.push;
  dl.push = function (e) {
    const n = before.apply(dl, arguments);
    if (e.event === 'outer') dl.push({ event: 'inner' });
    return n;
  };
  dl.push({ event: 'outer' });
  await advance(t, 1000);
  assert.deepEqual(p.payloads().map((x) => x.event), ['outer', 'inner']);
});

test('a dataLayer replaced wholesale after install is captured, the same array is not captured twice', async (t) => {
  useTimers(t);
  const p = page({ dataLayer: [{ event: 'first' }] });
  p.install();
  p.win.dataLayer = p.win.dataLayer || []; // the usual snippet, run again
  p.win.dataLayer = [{ event: 'replaced' }];
  p.win.dataLayer.push({ event: 'pushed' });
  await advance(t, 1000);
  assert.deepEqual(p.payloads().map((x) => x.event), ['first', 'replaced', 'pushed']);
});

test('gtag pushes arguments objects: sent as arrays, Dates as ISO strings', async (t) => {
  useTimers(t);
  const p = page();
  p.install();
  const w = p.win;
  function gtag() {
    w.dataLayer.push(arguments);
  }
  const when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
  gtag('js', when);
  gtag('config', 'G-ABC123');
  gtag('event', 'purchase', { transaction_id: 'T1', value: 9.5, currency: 'EUR', items: [{ item_id: 'SKU' }] });
  await advance(t, 1000);
  assert.deepEqual(p.payloads(), [
    ['js', '2024-01-02T03:04:05.000Z'],
    ['config', 'G-ABC123'],
    ['event', 'purchase', { transaction_id: 'T1', value: 9.5, currency: 'EUR', items: [{ item_id: 'SKU' }] }],
  ]);
  assert.equal(Object.prototype.toString.call(w.dataLayer[0]), '[object Arguments]', 'the page keeps what it pushed');
});

test('an Adobe DTM cartUpdated entry goes through as pushed', async (t) => {
  useTimers(t);
  const p = page();
  p.install();
  const entry = { event: 'cartUpdated', cart: { products: [{ id: '1', quantity: 2 }] }, externalRef: 'X' };
  p.win.dataLayer.push(entry);
  await advance(t, 1000);
  assert.deepEqual(p.payloads(), [entry]);
});

// The vendors' queueing stubs: Convead's (and InSend's) keep calls in `fn.q`, Commanders
// Act's OnSite API stub in `window.caReady`.
const fnQueue = (name) => (w) => {
  w[name] = w[name] || function () {
    (w[name].q = w[name].q || []).push(arguments);
  };
};
const caReady = (w) => {
  w.caReady = w.caReady || [];
  w.cact = function () {
    w.caReady.push(arguments);
  };
};

const VENDORS = [
  { name: 'cact', dialect: 'commanders-act', stub: caReady, queue: (w) => w.caReady, call: ['trigger', 'page_view', { page_type: 'home' }], other: ['config', { siteId: 1 }] },
  { name: 'convead', dialect: 'convead', stub: fnQueue('convead'), queue: (w) => w.convead.q, call: ['event', 'view_product', { product_id: '1' }], other: ['init', {}] },
  { name: 'insend', dialect: 'insend', stub: fnQueue('insend'), queue: (w) => w.insend.q, call: ['event', 'add_to_cart', { product_id: '2', qnt: 1 }], other: ['ready'] },
];

const events = (v, q) => q.filter((args) => args[0] === v.call[0]).length;

for (const v of VENDORS) {
  test(`${v.name}: a stub's queue at install, calls before and after the vendor's function arrives`, async (t) => {
    useTimers(t);
    const p = page();
    const w = p.win;
    // the vendor's own queueing stub, with a call queued before the tracker loads
    v.stub(w);
    w[v.name](...v.call);
    p.install();
    w[v.name](...v.call); // into the vendor's stub, through our wrapper
    assert.equal(events(v, v.queue(w)), 2, "the vendor's stub still queues");
    w[v.name](...v.other); // not an event: not sent
    // the vendor's script arrives: it reads the queue and replaces the function
    const received = [];
    w[v.name] = function () {
      received.push({ self: this, args: [...arguments] });
      return 'vendor result';
    };
    w[v.name].extra = 'kept';
    const self = { me: 1 };
    const r = w[v.name].call(self, ...v.call);
    assert.equal(r, 'vendor result');
    assert.equal(w[v.name].extra, 'kept', "the vendor function's own properties are visible");
    assert.equal(received.length, 1);
    assert.equal(received[0].self, self, 'the same this');
    assert.deepEqual(received[0].args, v.call);
    await advance(t, 1000);
    assert.deepEqual(p.calls().map((c) => [c.dialect, c.payload]), [
      [v.dialect, v.call],
      [v.dialect, v.call],
      [v.dialect, v.call],
    ]);
  });

  test(`${v.name}: absent at install: a queueing stub stands in, and the vendor's later function is wrapped once`, async (t) => {
    useTimers(t);
    const p = page();
    p.install();
    const w = p.win;
    assert.equal(typeof w[v.name], 'function');
    w[v.name](...v.call);
    const queue = v.queue(w);
    assert.equal(events(v, queue), 1, "our stub queues where the vendor's script looks");
    // a snippet run after the tracker keeps our stub
    w[v.name] = w[v.name] || function () {};
    // the vendor replaces it, wrapping what was there (it must not record twice)
    const previous = w[v.name];
    let calls = 0;
    w[v.name] = function (command) {
      if (command === v.call[0]) calls++;
      return previous.apply(this, arguments);
    };
    w[v.name](...v.call);
    assert.equal(calls, 1);
    assert.equal(events(v, queue), 2, 'through the vendor function to our stub');
    await advance(t, 1000);
    assert.deepEqual(p.calls().map((c) => c.dialect), [v.dialect, v.dialect]);
    assert.deepEqual(p.payloads(), [v.call, v.call]);
  });
}

test("Commanders Act's stub installed again after the tracker (as its docs allow) is wrapped too", async (t) => {
  useTimers(t);
  const p = page();
  p.install();
  caReady(p.win);
  p.win.cact('trigger', 'search', { search_term: 'x' });
  await advance(t, 1000);
  assert.deepEqual(p.payloads(), [['trigger', 'search', { search_term: 'x' }]]);
  assert.equal(events(VENDORS[0], p.win.caReady), 1);
});

test('the tracker asks the Commanders Act CMP for consent through the stub, once', (t) => {
  const p = page();
  caReady(p.win);
  p.install();
  const asked = p.win.caReady.map((args) => args[0]);
  assert.deepEqual(asked, ['consent.get', 'consent.onUpdate']);
  p.win.cact = function () {};
  assert.equal(p.win.caReady.length, 2);
});

test('a vendor function that throws still throws to its caller, and the call is recorded', async (t) => {
  useTimers(t);
  const p = page({ globals: { convead: () => { throw new Error('vendor bug'); } } });
  p.install();
  assert.throws(() => p.win.convead('event', 'custom', { key: 'k' }), /vendor bug/);
  await advance(t, 1000);
  assert.deepEqual(p.payloads(), [['event', 'custom', { key: 'k' }]]);
});

test('trackway() queued by the inline snippet runs at install; event sends a payload as is', async (t) => {
  useTimers(t);
  const p = page();
  const w = p.win;
  // the documented snippet
  w.trackway = w.trackway || function () {
    (w.trackway.q = w.trackway.q || []).push(arguments);
  };
  w.trackway('event', { event: 'queued' });
  w.trackway('event', ['event', 'purchase', { order_id: '1' }], 'convead');
  p.install();
  w.trackway('event', { event: 'later' }, 'koalect');
  w.trackway('flush');
  await advance(t, 100);
  assert.deepEqual(p.calls().map((c) => [c.dialect, c.payload]), [
    [undefined, { event: 'queued' }],
    ['convead', ['event', 'purchase', { order_id: '1' }]],
    ['koalect', { event: 'later' }],
  ]);
});

test('installing twice records each entry once', async (t) => {
  useTimers(t);
  const p = page({ dataLayer: [{ event: 'x' }] });
  p.install();
  p.install();
  p.win.dataLayer.push({ event: 'y' });
  await advance(t, 1000);
  assert.deepEqual(p.payloads().map((x) => x.event), ['x', 'y']);
});
