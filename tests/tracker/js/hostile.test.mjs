// Whatever the page pushes, nothing throws into it and each payload is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { page, tracker, useTimers, advance } from './harness.mjs';

const { copy } = tracker;

function cyclic() {
  const a = { name: 'a', list: [] };
  a.self = a;
  a.list.push(a, { back: a });
  return a;
}

function deep(n) {
  let v = { leaf: true };
  for (let i = 0; i < n; i++) v = { d: v };
  return v;
}

function depthOf(v) {
  return v && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0;
}

const node = { nodeType: 1, nodeName: 'DIV', parentNode: null, ownerDocument: {} };
node.ownerDocument.body = node;

const throwing = {
  ok: 1,
  get bad() {
    throw new Error('getter');
  },
};

// [name, value, what the copy is]
const COPIES = [
  ['a plain object', { a: 1, b: 'x', c: [true, null] }, { a: 1, b: 'x', c: [true, null] }],
  ['a cycle', cyclic(), { name: 'a', list: ['[Circular]', { back: '[Circular]' }], self: '[Circular]' }],
  ['a shared, not cyclic, object is copied twice', (() => { const s = { v: 1 }; return [s, s]; })(), [{ v: 1 }, { v: 1 }]],
  ['a DOM node', { target: node }, { target: '[Node]' }],
  ['functions, symbols and undefined', { f() {}, s: Symbol('s'), u: undefined, list: [() => 1, Symbol('t'), undefined] }, { list: [null, null, null] }],
  ['a throwing getter', throwing, { ok: 1, bad: '[Error]' }],
  ['BigInt', { n: 10n ** 30n }, { n: '1000000000000000000000000000000' }],
  ['NaN and Infinity', [NaN, Infinity, -Infinity, 1.5], [null, null, null, 1.5]],
  ['a Date and an invalid Date', [new Date(0), new Date(NaN)], ['1970-01-01T00:00:00.000Z', null]],
  ['toJSON', { when: { toJSON: () => 'custom' } }, { when: 'custom' }],
  ['a symbol-keyed property is left out', { [Symbol('k')]: 1, k: 2 }, { k: 2 }],
  ['__proto__ as a key stays a key', JSON.parse('{"__proto__": {"x": 1}}'), JSON.parse('{"__proto__": {"x": 1}}')],
  ['a typed array', new Uint8Array([1, 2, 3]), [1, 2, 3]],
  ['a top-level function', () => 1, null],
  ['a window-like object', (() => { const w = { a: 1 }; w.window = w; return { w }; })(), { w: '[Window]' }],
];

for (const [name, value, expected] of COPIES) {
  test(`copy: ${name}`, () => {
    const out = copy(value);
    assert.deepEqual(out, expected);
    assert.deepEqual(JSON.parse(JSON.stringify(out)), out, 'JSON-safe');
  });
}

test('copy: a 1e6-element array keeps 1000 elements', () => {
  const out = copy({ big: new Array(1e6).fill(7) });
  assert.equal(out.big.length, 1000);
  assert.ok(out.big.every((x) => x === 7));
});

test('copy: nesting deeper than 20 levels ends in "[Depth]"', () => {
  const out = copy(deep(100));
  const text = JSON.stringify(out);
  assert.ok(text.includes('"[Depth]"'));
  assert.ok(depthOf(out) <= 22, `depth ${depthOf(out)}`);
});

test('copy: strings are cut at 10,000 characters', () => {
  assert.equal(copy('x'.repeat(50000)).length, 10000);
});

test('copy: at most 20,000 values, then "[Truncated]"', () => {
  const wide = Array.from({ length: 100 }, (_, i) => Array.from({ length: 1000 }, (_, j) => i * j));
  const out = copy(wide);
  const text = JSON.stringify(out);
  assert.ok(text.includes('"[Truncated]"'));
  const numbers = out.flat().filter((x) => typeof x === 'number').length;
  assert.ok(numbers < 20000 && numbers > 19000, `${numbers} numbers`);
});

test('copy: the characters copied per call are bounded, in bytes within the collector\'s 512 KiB body', () => {
  // 400,000 characters of Cyrillic or CJK text were up to 1.2 MB: a 413, and the call dropped
  for (const ch of ['y', 'Ж', '中']) {
    const out = copy(Array.from({ length: 1000 }, () => ch.repeat(10000)));
    assert.ok(Buffer.byteLength(JSON.stringify(out)) < 500000, ch);
    assert.equal(out.at(-1), '[Truncated]');
  }
});

test('copy: a string cut in the middle of an emoji keeps no lone surrogate, so the batch stays valid JSON', () => {
  // the tracker cut at 10,000 characters between the two halves of an emoji: the collector refused the batch
  const out = copy({ review: 'a'.repeat(9999) + '\uD83D\uDE00 great', ok: '\uD83D\uDE00' });
  assert.equal(out.review, 'a'.repeat(9999) + '\uFFFD');
  assert.equal(out.ok, '\uD83D\uDE00');   // a whole pair stays
  assert.ok(!/\\ud[89a-f]/i.test(JSON.stringify(out)), JSON.stringify(out).slice(-80));
});

test('copy: Proxies whose traps throw give "[Error]"', () => {
  const hostile = new Proxy({}, { ownKeys() { throw new Error('keys'); }, get() { throw new Error('get'); } });
  assert.deepEqual(copy({ p: hostile, ok: 1 }), { p: '[Error]', ok: 1 });
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  assert.deepEqual(copy([proxy, 2]), ['[Error]', 2]);
});

// Hostile pushes through the page: never a throw, the page's own push still happens.
const PUSHES = [
  ['a cyclic object', cyclic],
  ['a DOM node', () => node],
  ['a function', () => function () {}],
  ['a throwing getter', () => throwing],
  ['a 1e6-element array', () => new Array(1e6).fill({ a: 1 })],
  ['a 10,000-level nest', () => deep(10000)],
  ['a symbol', () => Symbol('s')],
  ['a BigInt', () => 1n],
  ['undefined', () => undefined],
  ['a revoked Proxy', () => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; }],
  ['a Proxy that throws on everything', () => new Proxy({}, { get() { throw new Error('x'); }, ownKeys() { throw new Error('y'); }, getPrototypeOf() { throw new Error('z'); } })],
];

test('hostile pushes never throw into the page, still reach the array and are sent bounded', async (t) => {
  useTimers(t);
  const p = page();
  p.install();
  for (const [name, make] of PUSHES) {
    const value = make();
    const before = p.win.dataLayer.length;
    assert.doesNotThrow(() => p.win.dataLayer.push(value), name);
    assert.equal(p.win.dataLayer.length, before + 1, name);
    assert.equal(p.win.dataLayer.at(-1), value, name);
  }
  p.win.trackway('flush');
  await advance(t, 2000);
  assert.equal(p.calls().length, PUSHES.length);
  for (const r of p.requests) assert.ok(Buffer.byteLength(r.text) < 60000 || r.body.events.length === 1);
  for (const c of p.calls()) assert.ok(JSON.stringify(c).length < 450000);
  const payloads = p.payloads();
  assert.equal(payloads[2], null, 'a function is null');
  assert.equal(payloads[5].d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d, '[Depth]');
});

test('a throwing storage, crypto and console do not stop the page', async (t) => {
  useTimers(t);
  const p = page();
  const boom = () => { throw new Error('blocked'); };
  p.win.localStorage = { getItem: boom, setItem: boom, removeItem: boom };
  p.win.crypto = undefined;
  p.install({});
  assert.doesNotThrow(() => p.win.dataLayer.push({ event: 'x' }));
  await advance(t, 1000);
  assert.deepEqual(p.payloads(), [{ event: 'x' }]);
  assert.match(p.calls()[0].id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.1$/);
});

// A page that locks what the tracker hooks: the tracker still installs, records what it
// can reach, and the page's own calls keep working.
const LOCKED = [
  ['a frozen dataLayer', () => ({ dataLayer: Object.freeze([{ event: 'early' }]) }), ['early', 'direct']],
  ['a sealed dataLayer', () => ({ dataLayer: Object.seal([{ event: 'early' }]) }), ['early', 'direct']],
  ['a dataLayer that is not extensible', () => ({ dataLayer: Object.preventExtensions([{ event: 'early' }]) }), ['early', 'direct']],
  ['a push that cannot be redefined', () => {
    const dl = [];
    Object.defineProperty(dl, 'push', { value: Array.prototype.push, writable: true, configurable: false });
    return { dataLayer: dl, later: (win) => win.dataLayer.push({ event: 'pushed' }) };
  }, ['pushed', 'direct']],
];
for (const [name, make, expected] of LOCKED) {
  test(`${name}: the tracker installs and records what it can`, async (t) => {
    useTimers(t);
    const { dataLayer, later } = make();
    const p = page({ dataLayer });
    assert.doesNotThrow(() => p.install());
    assert.equal(typeof p.win.trackway, 'function');
    if (later) later(p.win);
    p.win.trackway('event', { event: 'direct' }, 'gtm-ga4');
    await advance(t, 1000);
    assert.deepEqual(p.payloads().map((x) => x.event), expected);
  });
}

test('read-only window.dataLayer and window.cact: the tracker installs; cact still answers', async (t) => {
  useTimers(t);
  const p = page();
  let called = 0;
  const cact = () => ++called;
  Object.defineProperty(p.win, 'dataLayer', { value: null, writable: false, configurable: false });
  Object.defineProperty(p.win, 'cact', { value: cact, writable: false, configurable: false });
  assert.doesNotThrow(() => p.install());
  assert.equal(p.win.cact, cact, 'the vendor function stays');
  const before = called;   // (the tracker asked it for the consent categories)
  assert.equal(p.win.cact('trigger', 'page_view'), before + 1);
  p.win.trackway('event', { event: 'direct' }, 'gtm-ga4');
  await advance(t, 1000);
  assert.deepEqual(p.payloads().map((x) => x.event), ['direct']);
});
