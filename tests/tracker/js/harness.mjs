// Fakes of the browser for t.js: everything the tracker touches comes through `win`.
import { createRequire } from 'node:module';
import { mock } from 'node:test';

const require = createRequire(import.meta.url);
export const tracker = require('../../../src/trackway/tracker/t.js');

export const KEY = 'ck_test';
export const ENDPOINT = 'https://collector.example/collect';
export const QKEY = 'trackway_q_' + KEY;

// A Map-backed localStorage.
export function storage(init = {}) {
  const map = new Map(Object.entries(init));
  return {
    map,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => void map.set(k, String(v)),
    removeItem: (k) => void map.delete(k),
  };
}

// The default answer of the collector: 200, every payload accepted.
// As the collector, for an envelope with "cookie": true that names no guest id and does not
// deny analytics: a guest id of its own (its cookie's), named in the answer.
export const SERVER_GUEST = 'srv-guest-1';
function accepted(body, extra = {}) {
  const results = body.events.map((e, index) => ({ index, dialect: e.dialect || 'gtm-ga4', accepted: true, events: [], issues: [] }));
  const denied = body.consent && body.consent.analytics_storage === 'denied';
  const guest = body.cookie === true && !denied ? { anonymous_id: body.anonymous_id || SERVER_GUEST } : {};
  return { status: 200, json: { accepted: results.length, rejected: 0, results, ...guest, ...extra } };
}

// A page: `answers` is a list of what fetch does, in order (a status, {status, json},
// 'network' for a rejected promise, or a function of the decoded body); 200 after them.
export function page(opts = {}) {
  const listeners = {};
  const requests = [];
  const beacons = [];
  const logs = [];
  const answers = [...(opts.answers || [])];
  const on = (type, f) => void (listeners[type] ||= []).push(f);
  const win = {
    localStorage: opts.storage || storage(),
    navigator: {
      onLine: opts.onLine ?? true,
      language: 'fr-BE',
      sendBeacon: (url, body) => {
        if (typeof body !== 'string') throw new Error('expected a string body');
        const ok = typeof opts.beacon === 'function' ? opts.beacon() : (opts.beacon ?? true);
        if (ok) beacons.push({ url, text: body, body: JSON.parse(body) });
        return ok;
      },
    },
    document: {
      cookie: opts.cookie || '',
      referrer: 'https://ref.example/',
      title: 'Shop',
      visibilityState: 'visible',
      addEventListener: on,
    },
    location: { href: 'https://shop.example/p?x=1', pathname: '/p', search: opts.search || '' },
    innerWidth: 1280,
    innerHeight: 720,
    fetch: async (url, init) => {
      const body = JSON.parse(init.body);
      requests.push({ url, init, text: init.body, body });
      let a = answers.length ? answers.shift() : null;
      if (typeof a === 'function') a = a(body);
      if (a === 'network') throw new TypeError('Failed to fetch');
      if (a === null) a = accepted(body);
      if (typeof a === 'number') a = a === 200 ? accepted(body) : { status: a, json: { error: 'answer ' + a } };
      if (a.status === 200 && !a.json) a = accepted(body, a.extra);
      const headers = new Map(Object.entries(a.headers || {}));
      return { status: a.status, headers: { get: (k) => headers.get(k.toLowerCase()) ?? null }, text: async () => JSON.stringify(a.json) };
    },
    setTimeout: (f, ms) => setTimeout(f, ms),
    clearTimeout: (id) => clearTimeout(id),
    addEventListener: on,
    console: {
      log: (...a) => logs.push(['log', ...a]),
      warn: (...a) => logs.push(['warn', ...a]),
    },
    crypto: globalThis.crypto,
  };
  if (opts.dataLayer) win.dataLayer = opts.dataLayer;
  Object.assign(win, opts.globals || {});
  const fire = (type) => (listeners[type] || []).forEach((f) => f({ type }));
  return {
    win,
    requests,
    beacons,
    logs,
    fire,
    install: (options = {}) => tracker.install(win, { key: KEY, endpoint: ENDPOINT, ...options }),
    hide() {
      win.document.visibilityState = 'hidden';
      fire('visibilitychange');
    },
    // every call sent by fetch, in order
    calls: () => requests.flatMap((r) => r.body.events),
    payloads: () => requests.flatMap((r) => r.body.events.map((e) => e.payload)),
    stored: () => JSON.parse(win.localStorage.getItem(QKEY) || 'null'),
  };
}

// Timers: mocked per test; `settle` lets the fetch promises run.
export function useTimers(t) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
}

export const settle = () => new Promise((r) => setImmediate(r));

// Advance the mocked clock by `ms`, letting promises run between steps.
export async function advance(t, ms, step = 100) {
  for (let done = 0; done < ms; done += step) {
    t.mock.timers.tick(Math.min(step, ms - done));
    await settle();
  }
}

export { mock };
