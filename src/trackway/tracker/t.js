/*
 * trackway.js 1: sends a page's dataLayer, gtag, cact, convead and insend calls to a Trackway
 * collector's /collect, unchanged. Plain ES2017, no dependencies, no build step (the collector
 * serves it minified and gzipped).
 *
 * In a browser it reads its options from its own <script data-key data-endpoint> tag and
 * installs itself on `window`. Under Node (`module.exports` exists) it only exports
 * `install(win, options)`, `readOptions(win)` and `copy(value)`: everything it does reaches the
 * world through `win`, so the unit tests (tests/tracker/js/) hand it fakes.
 *
 * What it does (docs/tracker.md, "The wire format and behaviour"):
 * - records every dataLayer entry (those already there and every later push, through any
 *   push override), every cact('trigger', ...), convead('event', ...) and insend('event', ...)
 *   call, and trackway('event', payload[, dialect]);
 * - copies each into a bounded JSON-safe payload with a random id (the server deduplicates);
 * - queues the calls in localStorage and POSTs them to /collect in batches of one page view
 *   and one consent state, with the page context, the guest id and the consent signals;
 * - on page hide sends what is left with sendBeacon; retries with backoff; waits while offline.
 * Nothing it does may throw into the page: every entry point is wrapped in try/catch.
 */
(function (factory) {
  if (typeof module === 'object' && module && module.exports) {
    module.exports = factory();
  } else {
    try {
      const t = factory();
      const options = t.readOptions(window);
      if (options) t.install(window, options);
    } catch (e) { /* never into the page */ }
  }
})(function () {
  'use strict';

  const VERSION = '1';
  const LIMIT = 60000;          // a body's bytes (sendBeacon and fetch keepalive allow 64 KiB)
  const FLUSH_CALLS = 50;       // send at once from this many queued calls...
  const FLUSH_BYTES = 50000;    // ...or this many bytes
  const BATCH_CALLS = 500;      // the most calls in one request (the server's collect_max_events)
  const SHARED = 8000000;       // the envelope's bytes times its calls: the server refuses over 8 MiB
  const DELAY = 1000;           // else 1 s after the last call
  const MAX_DELAY = 60000;      // the longest pause between retries
  const MAX_QUEUE = 1000;       // calls kept in storage...
  const MAX_STORED = 2000000;   // ...and their bytes
  const MAX_VALUES = 20000;     // values copied per call
  const MAX_CHARS = 150000;     // string characters copied per call (3 bytes each at most: within 512 KiB)
  const SKIP = {};              // copy(): a value JSON leaves out
  const tagOf = (v) => Object.prototype.toString.call(v);
  // A string cut in the middle of an emoji leaves half of it, a lone surrogate, which made the
  // whole batch invalid JSON: a cut string is made well-formed (U+FFFD for the half).
  const wf = (v) => (v.toWellFormed ? v.toWellFormed() : v);
  const toArray = (a) => Array.prototype.slice.call(a);

  // ---- the JSON-safe, bounded copy of a payload --------------------------------------------

  // Cycles -> "[Circular]", DOM nodes -> "[Node]", functions, symbols and undefined left out
  // (null in arrays), BigInt -> string, Date -> ISO string, NaN and Infinity -> null, below 20
  // levels "[Depth]", arrays cut at 1000 elements, strings at 10,000 characters (a surrogate pair
  // cut in half made U+FFFD), at most MAX_VALUES values and MAX_CHARS characters (then
  // "[Truncated]"), a throwing getter "[Error]".
  function copy(value) {
    let count = 0;
    let chars = 0;
    const path = [];            // the objects being copied, for cycles

    function walk(v, depth) {
      if (++count > MAX_VALUES) return '[Truncated]';
      const t = typeof v;
      if (v === null || t === 'boolean') return v;
      if (t === 'number') return isFinite(v) ? v : null;
      if (t === 'string') {
        if (v.length > 10000) v = wf(v.slice(0, 10000));
        chars += v.length;
        return chars > MAX_CHARS ? '[Truncated]' : v;
      }
      if (t === 'bigint') return String(v);
      if (t !== 'object') return SKIP;   // undefined, functions, symbols
      if (depth > 20) return '[Depth]';
      if (path.indexOf(v) >= 0) return '[Circular]';
      if (typeof v.nodeType === 'number' && typeof v.nodeName === 'string') return '[Node]';
      if (v.window === v) return '[Window]';
      const tag = tagOf(v);
      if (tag === '[object Date]') return isNaN(v.getTime()) ? null : v.toISOString();
      path.push(v);
      try {
        let out, x, i;
        if (Array.isArray(v) || tag === '[object Arguments]' || ArrayBuffer.isView(v)) {
          out = [];
          const n = Math.min(v.length, 1000);
          for (i = 0; i < n; i++) {
            if (count >= MAX_VALUES) {
              out.push('[Truncated]');
              break;
            }
            try {
              x = walk(v[i], depth + 1);
            } catch (e) {
              x = '[Error]';   // a getter or a Proxy trap that throws (inline: a call a value costs)
            }
            out.push(x === SKIP ? null : x);
          }
          return out;
        }
        if (typeof v.toJSON === 'function') return walk(v.toJSON(), depth + 1);
        out = {};
        const keys = Object.keys(v);
        for (i = 0; i < keys.length; i++) {
          const k = keys[i];
          if (count >= MAX_VALUES) {
            out[k] = '[Truncated]';
            break;
          }
          try {
            x = walk(v[k], depth + 1);
          } catch (e) {
            x = '[Error]';
          }
          if (x === SKIP) continue;
          // a "__proto__" key stays a key
          if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
          else out[k] = x;
        }
        return out;
      } finally {
        path.pop();
      }
    }

    try {
      const r = walk(value, 0);
      return r === SKIP ? null : r;
    } catch (e) {
      return '[Error]';
    }
  }

  // The UTF-8 length of a string (what it weighs in a request body).
  function bytes(s) {
    let n = s.length;
    if (!/[^\0-\x7f]/.test(s)) return n;   // ASCII
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) n += c > 0x7ff && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
    }
    return n;
  }

  // ---- options from the script tag ---------------------------------------------------------

  function readOptions(win) {
    const doc = win.document;
    let s = doc.currentScript;
    if (!s || !s.getAttribute('data-key')) {
      const all = doc.querySelectorAll('script[src*="/t.js"][data-key]');
      s = all[all.length - 1] || s;
    }
    const key = s && s.getAttribute('data-key');
    if (!key) {
      win.console.warn('trackway: expected data-key="COLLECT_KEY" on the t.js script tag, got none; nothing is sent');
      return null;
    }
    return { key: key, endpoint: s.getAttribute('data-endpoint') || new URL(s.src).origin + '/collect' };
  }

  // ---- the tracker -------------------------------------------------------------------------

  function install(win, options) {
    const old = win.trackway;
    if (old && old.installed) return old;   // the script included twice
    const doc = win.document;
    const nav = win.navigator || {};
    const con = win.console;
    const key = options.key;
    const endpoint = options.endpoint;
    const QKEY = 'trackway_q_' + key;
    let store = null;
    try {
      store = win.localStorage;
    } catch (e) { /* storage blocked: the queue lives in memory only */ }

    let queue = [];      // {i: id, t: the call's JSON text, n: its bytes, g: group id, b: sent by beacon, f: in flight}
    // (no prototype: an id read from storage is only ever a key, "__proto__" included)
    const groups = Object.create(null);   // group id -> {c: context, s: consent signals, d: analytics denied, i: vendor ids}
    const owned = Object.create(null);    // ids this page loaded or recorded (other tabs' stored calls are kept)
    let group = null;
    let groupKey = '';
    const google = {};   // Google consent mode state
    let categories = null;   // Commanders Act consent categories
    let memoryId = null;
    let debug = false;
    let inflight = false;
    let wanted = false;  // more to send once the answer of the request in flight comes
    let attempt = 0;
    let timer = 0;
    let retryTimer = 0;
    let saveTimer = 0;
    let cmp = false;
    // Calls recorded in this task, serialized and queued by `settle` in a task of its own:
    // a page's push costs it the copy of its payload, nothing more.
    let incoming = [];
    let written = null;  // the queue's text this page last stored
    let view = '';       // this page view's id, the prefix of its calls' ids
    let seq = 0;
    let settleTimer = 0;
    let version = 0;     // bumped when a consent signal changes
    let consentCache = null;

    function log(...args) {
      try {
        if (debug) con.log('trackway:', ...args);
      } catch (e) { /* no console */ }
    }

    function get(name) {
      try {
        return store ? store.getItem(name) : null;
      } catch (e) {
        return null;
      }
    }

    function set(name, value) {
      try {
        if (value === null) store.removeItem(name);
        else store.setItem(name, value);
      } catch (e) { /* full, blocked or absent */ }
    }

    function uuid() {
      const c = win.crypto;
      try {
        if (c && c.randomUUID) return c.randomUUID();
      } catch (e) { /* not a secure context */ }
      const b = new Uint8Array(16);
      if (c && c.getRandomValues) c.getRandomValues(b);
      else for (let i = 0; i < 16; i++) b[i] = Math.random() * 256;
      b[6] = (b[6] & 15) | 64;   // version 4
      b[8] = (b[8] & 63) | 128;  // variant 1
      let h = '';
      b.forEach((x, i) => {
        h += (x + 256).toString(16).slice(1) + (i === 3 || i === 5 || i === 7 || i === 9 ? '-' : '');
      });
      return h;
    }

    // The page's cookies. document.cookie is a synchronous round trip to the browser's cookie
    // store, slow enough to matter: where the Cookie Store API tells of changes, the cookies
    // are read once and again only after a change; elsewhere once per task (a burst of pushes
    // reads them once).
    let jar = null;
    let live = false;
    function cookies() {
      if (jar) return jar;
      jar = {};
      try {
        (doc.cookie || '').split(';').forEach((part) => {
          const eq = part.indexOf('=');
          if (eq > 0) jar[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
        });
        if (!live) {
          win.setTimeout(() => {
            jar = null;
          }, 0);
        }
      } catch (e) { /* no cookies */ }
      return jar;
    }
    try {
      if (win.cookieStore && win.cookieStore.addEventListener) {
        win.cookieStore.addEventListener('change', () => {
          jar = null;
        });
        live = true;
      }
    } catch (e) { /* no Cookie Store API */ }

    // ---- consent and ids ----

    // The consent signals known now, keyed as the server reads them (s, undefined when none),
    // and whether any of them denies analytics (d): a denial wins.
    function consentNow() {
      const jarNow = cookies();
      if (consentCache && consentCache.j === jarNow && consentCache.v === version) return consentCache;
      const s = Object.assign({}, google);
      let koalect = jarNow.koalect_consent;
      let denied = google.analytics_storage === 'denied';
      if (koalect !== undefined) {
        try {
          koalect = decodeURIComponent(koalect.replace(/\+/g, ' '));
        } catch (e) { /* kept as sent */ }
        s.koalect_consent = koalect;
        if (koalect.toLowerCase().split(/[\s,"]+/).indexOf('analytics') < 0) denied = true;
      }
      if (categories) s.categories = categories;
      return (consentCache = { s: Object.keys(s).length ? s : undefined, d: denied, j: jarNow, v: version });
    }

    // Google consent mode: 'update' sets each type it names; 'default' never turns a denial into a grant.
    function applyGoogle(p) {
      if (!Array.isArray(p) || p[0] !== 'consent' || (p[1] !== 'default' && p[1] !== 'update') ||
          !p[2] || typeof p[2] !== 'object') return;
      Object.keys(p[2]).forEach((k) => {
        const v = typeof p[2][k] === 'string' ? p[2][k].trim().toLowerCase() : '';
        if ((v === 'granted' || v === 'denied') && (p[1] === 'update' || v === 'denied' || !google[k]) &&
            google[k] !== v) {
          google[k] = v;
          version++;
        }
      });
    }

    const setCategories = (list) => {
      if (!Array.isArray(list)) return;
      const next = list.map(String);
      if (!categories || next.join() !== categories.join()) version++;
      categories = next;
    };

    // The Commanders Act CMP's consent object: the categories whose status is 'on'.
    function onCmp(result) {
      try {
        const c = result.consent.categories;
        setCategories(Object.keys(c).filter((id) => c[id] && c[id].status === 'on'));
        log('Commanders Act consent categories', categories);
      } catch (e) { /* a CMP of another shape */ }
    }

    function askCmp(fn) {
      if (cmp || typeof fn !== 'function') return;
      cmp = true;
      try {
        fn('consent.get', onCmp);
        fn('consent.onUpdate', onCmp);
      } catch (e) { /* no CMP */ }
    }

    // The guest id: kept in storage; none, and none stored, while analytics is denied.
    function guestId() {
      if (consentNow().d) {
        set('trackway_id', null);
        return null;
      }
      // none yet: the collector gives one (its cookie's, or a new one) and the answer names it
      return (memoryId = get('trackway_id') || memoryId);
    }

    function vendorIds() {
      const c = cookies();
      const ids = {};
      if (c._ga) ids.ga_client_id = c._ga.split('.').slice(2).join('.');   // GA1.1.123.456 -> 123.456
      if (c.convead_guest_uid) ids.convead_guest_uid = c.convead_guest_uid;
      if (c.TCPID) ids.consistent_anonymous_id = c.TCPID;
      return Object.keys(ids).length ? ids : undefined;
    }

    // The group of the next call: the page view and the consent state it is recorded in.
    let groupState = null;
    let groupHref = '';
    function currentGroup() {
      const state = consentNow();
      const loc = win.location || {};
      if (group && state === groupState && loc.href === groupHref) return group;
      groupState = state;
      groupHref = loc.href;
      const k = JSON.stringify([state.s, state.d, loc.href]);
      if (group && k === groupKey) return group;
      if (state.d) set('trackway_id', null);
      groupKey = k;
      group = {
        id: uuid(),
        c: {
          page: { url: loc.href, path: loc.pathname, referrer: doc.referrer, title: doc.title },
          language: nav.language,
          library: { name: 'trackway.js', version: VERSION }
        },
        s: state.s,
        d: state.d,
        i: state.d ? undefined : vendorIds()
      };
      groups[group.id] = group;
      return group;
    }

    // ---- recording ----

    // Record one call; never throws. `source` is for the debug log.
    function record(source, value, dialect) {
      try {
        const payload = copy(value);   // arguments objects (gtag's) become arrays
        const g = currentGroup();      // the consent state before this call
        // the page view's random id and the call's number: unique, and cheaper than a uuid a call
        incoming.push({ id: (view = view || uuid()) + '.' + ++seq, payload: payload, dialect: dialect, g: g.id });
        if (debug) log('call', source, payload);
        applyGoogle(payload);
        if (dialect === 'commanders-act' && payload[2] && payload[2].user) setCategories(payload[2].user.consent_categories);
        if (!settleTimer) {   // once per task: queue the task's calls, and send 1 s after it
          settleTimer = win.setTimeout(settle, 0);
          win.clearTimeout(timer);
          timer = win.setTimeout(flush, DELAY);
        }
      } catch (e) { /* never into the page */ }
    }

    // Queue the calls recorded so far (serialized once), store the queue, and send at once
    // when enough waits (else the timer set by `record` sends them).
    function settle(hiding) {
      try {
        win.clearTimeout(settleTimer);
        settleTimer = 0;
        const calls = incoming;
        incoming = [];
        if (!calls.length) return;
        calls.forEach((c) => {
          const text = JSON.stringify({ id: c.id, payload: c.payload, dialect: c.dialect });
          owned[c.id] = 1;
          queue.push({ i: c.id, t: text, n: bytes(text), g: c.g });
        });
        bound();
        const p = pending();
        if (hiding !== true && (p.calls >= FLUSH_CALLS || p.bytes >= FLUSH_BYTES)) flush();
        // stored unless all of them went at once (a failed send or a hidden page stores them)
        if (pending().calls && !saveTimer) saveTimer = win.setTimeout(save, 0);
      } catch (e) { /* never into the page */ }
    }

    // A function that records its arguments (with `each`), then calls `fn` with the same `this`
    // and returns its result. `active` holds the arguments of the calls under way: a chain of
    // wrappers (ours around an override around ours) passes the same arguments down and records
    // them once; a new call made from inside one is recorded.
    function recorder(fn, active, each) {
      return function () {
        const args = toArray(arguments);
        if (!active.some((a) => a.length === args.length && a.every((x, j) => x === args[j]))) each(args);
        active.push(args);
        try {
          return fn.apply(this, arguments);
        } finally {
          active.pop();
        }
      };
    }

    const hooked = new WeakSet();

    // Capture a dataLayer array: its entries, then every push, through any later push assignment.
    function hookArray(arr) {
      if (!Array.isArray(arr) || hooked.has(arr)) return;
      hooked.add(arr);
      arr.forEach((entry) => record('dataLayer', entry));
      const active = [];
      const each = (args) => args.forEach((a) => record('dataLayer', a));
      let shown = recorder(arr.push, active, each);
      try {
        Object.defineProperty(arr, 'push', {
          configurable: true,
          get: () => shown,
          set: (f) => {
            shown = typeof f === 'function' && f !== shown ? recorder(f, active, each) : f;
          }
        });
      } catch (e) {
        try {
          arr.push = shown;   // an own push that cannot be redefined: later assignments are not seen
        } catch (e2) { /* frozen, sealed or not extensible: the entries already there are all we see */ }
      }
    }

    function hookDataLayer() {
      let dl = win.dataLayer;
      if (dl == null) {
        dl = [];
        try {
          win.dataLayer = dl;
        } catch (e) { /* a read-only dataLayer: nothing the page pushes reaches it */ }
      }
      hookArray(dl);
      try {
        Object.defineProperty(win, 'dataLayer', {
          configurable: true,
          enumerable: true,
          get: () => dl,
          set: (v) => {
            dl = v;
            hookArray(v);
          }
        });
      } catch (e) { /* declared with var: a replaced array is not seen */ }
    }

    // cact, convead, insend: wrap the vendor's function, or stand in with a queueing stub;
    // record the calls whose first argument is `command` (the others carry no event).
    // Convead's stub queues calls in `convead.q`, Commanders Act's in `window.caReady`.
    function hookVendor(name, dialect, command) {
      const active = [];
      const each = (args) => {
        if (args[0] === command) record(name, args, dialect);
      };
      const stub = function () {
        if (name === 'cact') (win.caReady = win.caReady || []).push(arguments);
        else (stub.q = stub.q || []).push(arguments);
      };
      const wrap = (f) => {
        if (typeof f !== 'function') return f;
        const w = recorder(f, active, each);
        // the page and the vendor's script still see the function's own properties (its queue `q`)
        return new Proxy(f, { apply: (t, self, args) => w.apply(self, args) });
      };
      let current = win[name];
      if (current != null && typeof current !== 'function') return;   // not the vendor's
      const queued = (q) => {
        if (Array.isArray(q)) q.forEach((args) => each(toArray(args)));
      };
      queued(current && current.q);
      if (name === 'cact') queued(win.caReady);
      current = current || stub;
      // the CMP answers when it loads (a stub's queue keeps the question until then)
      if (name === 'cact') askCmp(current);
      let shown = wrap(current);
      try {
        Object.defineProperty(win, name, {
          configurable: true,
          enumerable: true,
          get: () => shown,
          set: (f) => {
            if (f === shown) return;
            shown = wrap(f);
            if (name === 'cact') askCmp(f);
          }
        });
      } catch (e) {
        try {
          win[name] = shown;
        } catch (e2) { /* read-only: the vendor's function stays as it is, unrecorded */ }
      }
    }

    // ---- the queue and its storage ----

    function pending() {
      const p = { calls: 0, bytes: 0 };
      queue.forEach((c) => {
        if (!c.f && !c.b) {
          p.calls++;
          p.bytes += c.n;
        }
      });
      return p;
    }

    // At most MAX_QUEUE calls and MAX_STORED bytes: the oldest go first.
    function bound() {
      let total = 0;
      for (let i = queue.length - 1; i >= 0; i--) {
        total += queue[i].n;
        if (queue.length - i > MAX_QUEUE || total > MAX_STORED) {
          if (debug) con.warn('trackway: the queue is full; its ' + (i + 1) + ' oldest calls are dropped');
          queue.splice(0, i + 1);
          return;
        }
      }
    }

    // The stored queue, or an empty one. Nothing stored, the common case, throws nothing:
    // an exception makes V8 collect the source positions of every frame on the stack.
    function readStored() {
      const raw = get(QKEY);
      if (raw) {
        try {
          const s = JSON.parse(raw);
          if (s && Array.isArray(s.q) && s.g && typeof s.g === 'object') return s;
        } catch (e) { /* not ours */ }
      }
      return { q: [], g: {} };
    }

    // Write the queue (with another tab's calls, which this page does not own) to storage.
    function save() {
      try {
        win.clearTimeout(saveTimer);
        saveTimer = 0;
        // another tab's calls are read only when the stored text is not what this page wrote
        const raw = get(QKEY);
        const stored = raw === written ? { q: [], g: {} } : readStored();
        const g = Object.create(null);
        const q = stored.q
          .filter((c) => c && !owned[c.i])
          .concat(queue.map((c) => ({ i: c.i, t: c.t, n: c.n, g: c.g, b: c.b })))
          .slice(-MAX_QUEUE);
        q.forEach((c) => {
          g[c.g] = groups[c.g] || stored.g[c.g];
        });
        written = q.length ? JSON.stringify({ q: q, g: g }) : null;
        if (written !== raw) set(QKEY, written);
      } catch (e) { /* never into the page */ }
    }

    // A stored call as this script writes them: an id, an event's JSON object text, and a
    // group of its own with a context. Anything else (another version's, a corrupted or a
    // hostile entry) is left out: one such call at the head of the queue would stop every
    // batch after it.
    function usable(c, stored) {
      if (!c || typeof c.i !== 'string' || typeof c.t !== 'string' || typeof c.g !== 'string' ||
          !Object.prototype.hasOwnProperty.call(stored, c.g)) return false;
      const g = stored[c.g];
      if (!g || typeof g !== 'object' || !g.c || typeof g.c !== 'object') return false;
      try {
        const e = JSON.parse(c.t);
        return !!e && typeof e === 'object' && !Array.isArray(e);
      } catch (e) {
        return false;
      }
    }

    // An earlier page view's calls (beacon marks cleared: they go again).
    function load() {
      const stored = readStored();
      stored.q.forEach((c) => {
        if (usable(c, stored.g)) {
          owned[c.i] = 1;
          groups[c.g] = stored.g[c.g];
          queue.push({ i: c.i, t: c.t, n: bytes(c.t), g: c.g });
        }
      });
      bound();
    }

    function remove(batch) {
      const done = new Set(batch.calls);
      queue = queue.filter((c) => !done.has(c));
      save();
    }

    // ---- sending ----

    // The next batch: calls of one group in queue order, under LIMIT bytes and at most
    // BATCH_CALLS calls, fewer when the envelope is large (every event gets a copy of its
    // context: SHARED bounds what that copies). A call too large for any batch goes alone
    // (never by beacon).
    function take(beacon) {
      let batch = null;
      for (const c of queue) {
        // a beacon takes the calls in flight too: a plain fetch does not outlive the page
        if ((c.f && !beacon) || c.b || (beacon && c.s)) continue;
        if (!batch) {
          const head = envelopeHead(groups[c.g]);
          const size = bytes(head) + 2;
          batch = { g: c.g, head: head, size: size, calls: [], most: Math.min(BATCH_CALLS, Math.floor(SHARED / size)) };
        } else if (c.g !== batch.g || batch.calls.length >= batch.most || batch.size + c.n + 1 >= LIMIT) {
          break;
        }
        if (!batch.calls.length && batch.size + c.n >= LIMIT) {
          if (beacon) {
            c.s = 1;   // skipped by beacons; sent by a later page view
            batch = null;
            continue;
          }
          batch.calls.push(c);
          batch.size += c.n;
          break;
        }
        batch.calls.push(c);
        batch.size += c.n + 1;
      }
      if (!batch || !batch.calls.length) return null;
      batch.body = batch.head + batch.calls.map((c) => c.t).join(',') + ']}';
      return batch;
    }

    // The envelope's JSON up to its events. No guest id and no vendor ids when analytics was
    // denied as the batch was recorded, or is denied now; then a denial now is the consent sent
    // (a withdrawal wins: a cookie set in the handler that pushed was read after the push, and
    // the grant recorded with it let the collector fill in its guest cookie's id).
    function envelopeHead(g) {
      // the viewport read as the batch goes, not as a call is recorded: reading it may make the
      // browser lay the page out, which is free after the page's own task and costly during it
      if (!g.c.viewport) g.c.viewport = { width: win.innerWidth, height: win.innerHeight };
      const now = consentNow();
      const denied = g.d || now.d;
      if (now.d) set('trackway_id', null);   // denied now: no id kept either
      const id = denied ? null : guestId();
      return JSON.stringify({
        key: key,
        sent_at: new Date().toISOString(),
        anonymous_id: id || undefined,
        cookie: true,   // the collector keeps the guest id in its own first-party cookie
        context: g.c,
        consent: now.d && !g.d ? now.s : g.s,
        ids: denied ? undefined : g.i
      }).slice(0, -1) + ',"events":[';
    }

    // `keepalive` only for a page going away (a plain fetch costs the page less)
    function post(batch, keepalive) {
      return win.fetch(endpoint, {
        method: 'POST',
        body: batch.body,
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
        credentials: 'include',
        keepalive: !!keepalive && batch.size < LIMIT
      }).then((res) => {
        let after = null;   // Retry-After, in seconds (the collector exposes it to CORS)
        try {
          after = res.headers && res.headers.get ? res.headers.get('retry-after') : null;
        } catch (e) { /* not readable */ }
        return res.text().then((text) => {
          let json = null;
          try {
            json = JSON.parse(text);
          } catch (e) { /* not JSON */ }
          return { status: res.status, json: json, after: after };
        }, () => ({ status: res.status, json: null, after: after }));
      });
    }

    // Send what is queued: one request at a time, the next batch when its answer comes.
    function flush() {
      try {
        if (incoming.length) settle();
        if (inflight || retryTimer) {
          wanted = true;
          return;
        }
        if (nav.onLine === false) return;   // the 'online' event flushes
        const batch = take(false);
        if (!batch) return;
        inflight = true;
        batch.calls.forEach((c) => {
          c.f = 1;
        });
        wanted = pending().calls > 0;       // the rest goes after the answer
        let sent;
        try {
          sent = post(batch);
        } catch (e) {   // a page's fetch wrapper that throws: a network error, retried (it stopped all sending)
          sent = Promise.reject(e);
        }
        sent.then((answer) => answered(batch, answer), () => answered(batch, { status: 0 }));
      } catch (e) { /* never into the page */ }
    }

    // 200: done; 5xx, 408, 429 and network errors: kept, retried with backoff; other: dropped.
    function answered(batch, answer) {
      try {
        inflight = false;
        const s = answer.status;
        batch.calls.forEach((c) => {
          c.f = 0;
        });
        if (s === 0 || s >= 500 || s === 408 || s === 429) {
          let wait = Math.min(MAX_DELAY, DELAY * Math.pow(2, attempt++));
          wait = wait / 2 + (Math.random() * wait) / 2;
          const asked = Number(answer.after) * 1000;   // no sooner than the collector asks, within MAX_DELAY
          if (asked > wait) wait = Math.min(MAX_DELAY, asked);
          log('answer ' + (s || 'network error') + ': ' + batch.calls.length + ' calls kept, retried in ' + Math.round(wait) + ' ms');
          save();
          retryTimer = win.setTimeout(() => {
            retryTimer = 0;
            flush();
          }, wait);
          return;
        }
        attempt = 0;
        report(batch, answer);
        remove(batch);
        const p = pending();
        if (wanted || p.calls >= FLUSH_CALLS || p.bytes >= FLUSH_BYTES) flush();
      } catch (e) { /* never into the page */ }
    }

    // The server's answer: adopt its guest id; in debug, each result's verdict and issues.
    function report(batch, answer) {
      const json = answer.json || {};
      if (answer.status !== 200) {
        log('answer ' + answer.status + ': ' + batch.calls.length + ' calls dropped: ' + (json.error || ''));
        return;
      }
      // the consent known now (the cookies read in this task are not read again for it)
      if (typeof json.anonymous_id === 'string' && json.anonymous_id && !(consentCache && consentCache.v === version ? consentCache : consentNow()).d) {
        set('trackway_id', (memoryId = json.anonymous_id));
      }
      if (debug) (Array.isArray(json.results) ? json.results : []).forEach((r) => {
        log('result', r.index, r.dialect, r.accepted ? 'accepted' : 'rejected');
        (r.issues || []).forEach((i) => log('  ' + i.severity, i.path, i.code, i.message));
      });
      // a page (a debug panel, the demo shop) may show the verdicts: `trackway:answer` on window
      try {
        if (win.CustomEvent && win.dispatchEvent) win.dispatchEvent(new win.CustomEvent('trackway:answer', { detail: json }));
      } catch (e) { /* a listener's error stays its own */ }
    }

    // The page is hidden or unloading: send what is left by beacon; keep it stored, marked.
    // Visible again: what went by beacon goes again by fetch (the collector stores each call
    // once), and leaves the queue once confirmed: it piled up with each switch of tabs.
    function hide(event) {
      try {
        if (event.type === 'visibilitychange' && doc.visibilityState !== 'hidden') {
          queue.forEach((c) => {
            c.b = 0;
          });
          return flush();
        }
        settle(true);   // queued, not fetched: the beacon takes them
        win.clearTimeout(timer);
        let batch;
        while (nav.onLine !== false && (batch = take(true))) {
          batch.calls.forEach((c) => {
            c.b = 1;
          });
          let sent = false;
          try {
            sent = nav.sendBeacon(endpoint, batch.body);
          } catch (e) { /* no beacon */ }
          log((sent ? 'beacon: ' : 'fetch keepalive: ') + batch.calls.length + ' calls');
          if (!sent) {
            const b = batch;
            post(b, true).then((answer) => answer.status === 200 && remove(b), () => {});
          }
        }
        save();
      } catch (e) { /* never into the page */ }
    }

    // ---- the trackway() function ----

    function trackway(command, a, b) {
      if (command === 'debug') debug = !!a;
      else if (command === 'flush') flush();
      else if (command === 'event') record('trackway', a, typeof b === 'string' ? b : undefined);
    }
    trackway.installed = VERSION;

    const queued = old && Array.isArray(old.q) ? old.q : [];
    try {
      debug = /[?&]trackway_debug=1(&|$)/.test(win.location.search) || get('trackway_debug') === '1';
    } catch (e) { /* no location */ }
    queued.forEach((args) => {
      if (args[0] === 'debug') trackway.apply(null, args);   // before the entries already there are logged
    });
    load();
    const earlier = queue.length;
    hookDataLayer();
    hookVendor('cact', 'commanders-act', 'trigger');
    hookVendor('convead', 'convead', 'event');
    hookVendor('insend', 'insend', 'event');
    win.trackway = trackway;
    queued.forEach((args) => {
      if (args[0] !== 'debug') trackway.apply(null, args);
    });
    (doc.addEventListener ? doc : win).addEventListener('visibilitychange', hide);
    win.addEventListener('pagehide', hide);
    win.addEventListener('online', () => {
      win.clearTimeout(retryTimer);
      retryTimer = 0;
      flush();
    });
    try {
      currentGroup();   // the cookies and consent read now, not in the page's first push
    } catch (e) { /* never into the page */ }
    if (earlier) flush();   // an earlier page view's calls, at once
    return trackway;
  }

  return { install: install, readOptions: readOptions, copy: copy };
});
