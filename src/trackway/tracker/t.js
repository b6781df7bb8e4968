/*! trackway.js 1: sends a page's dataLayer, gtag, cact, convead and insend calls to a Trackway collector. */
/*
 * Plain ES2017, no dependencies, no build step (the collector minifies and gzips it).
 *
 * In a browser it reads its options from its own <script data-key data-endpoint> tag and
 * installs itself on `window`. Under Node (`module.exports` exists) it only exports
 * `install(win, options)`: everything it does reaches the world through `win`, so the unit
 * tests hand it fakes (tests/tracker/js/).
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
      var t = factory();
      var options = t.readOptions(window);
      if (options) t.install(window, options);
    } catch (e) { /* never into the page */ }
  }
})(function () {
  'use strict';

  var VERSION = '1';
  var LIMIT = 60000;            // a body's bytes (sendBeacon and fetch keepalive allow 64 KiB)
  var FLUSH_CALLS = 50;         // send at once from this many queued calls...
  var FLUSH_BYTES = 50000;      // ...or this many bytes
  var DELAY = 1000;             // else 1 s after the last call
  var MAX_DELAY = 60000;        // the longest pause between retries
  var MAX_QUEUE = 1000;         // calls kept in storage...
  var MAX_STORED = 2000000;     // ...and their bytes
  var MAX_VALUES = 20000;       // values copied per call
  var MAX_CHARS = 400000;       // string characters copied per call
  var MAX_ARRAY = 1000;
  var MAX_STRING = 10000;
  var MAX_DEPTH = 20;
  var SKIP = {};                // copy(): a value JSON leaves out
  var toString = Object.prototype.toString;
  var slice = Array.prototype.slice;

  // ---- the JSON-safe, bounded copy of a payload --------------------------------------------

  function copy(value) {
    var count = 0;
    var chars = 0;
    var path = [];            // the objects being copied, for cycles

    function item(obj, key, depth) {
      try {
        return walk(obj[key], depth);
      } catch (e) {
        return '[Error]';     // a getter or a Proxy trap that throws
      }
    }

    function walk(v, depth) {
      if (++count > MAX_VALUES) return '[Truncated]';
      var t = typeof v;
      if (v === null || t === 'boolean') return v;
      if (t === 'number') return isFinite(v) ? v : null;
      if (t === 'string') {
        if (v.length > MAX_STRING) v = v.slice(0, MAX_STRING);
        chars += v.length;
        return chars > MAX_CHARS ? '[Truncated]' : v;
      }
      if (t === 'bigint') return String(v);
      if (t !== 'object') return SKIP;   // undefined, functions, symbols
      if (depth > MAX_DEPTH) return '[Depth]';
      if (path.indexOf(v) >= 0) return '[Circular]';
      if (typeof v.nodeType === 'number' && typeof v.nodeName === 'string') return '[Node]';
      if (v.window === v) return '[Window]';
      var tag = toString.call(v);
      if (tag === '[object Date]') return isNaN(v.getTime()) ? null : v.toISOString();
      path.push(v);
      try {
        var out, x, i, n;
        if (Array.isArray(v) || tag === '[object Arguments]' || ArrayBuffer.isView(v)) {
          out = [];
          n = Math.min(v.length, MAX_ARRAY);
          for (i = 0; i < n; i++) {
            if (count >= MAX_VALUES) {
              out.push('[Truncated]');
              break;
            }
            x = item(v, i, depth + 1);
            out.push(x === SKIP ? null : x);
          }
          return out;
        }
        if (typeof v.toJSON === 'function') return walk(v.toJSON(), depth + 1);
        out = {};
        var keys = Object.keys(v);
        for (i = 0; i < keys.length; i++) {
          if (count >= MAX_VALUES) {
            out[keys[i]] = '[Truncated]';
            break;
          }
          x = item(v, keys[i], depth + 1);
          if (x === SKIP) continue;
          if (keys[i] === '__proto__') {
            Object.defineProperty(out, '__proto__', { value: x, enumerable: true, writable: true, configurable: true });
          } else {
            out[keys[i]] = x;
          }
        }
        return out;
      } finally {
        path.pop();
      }
    }

    try {
      var r = walk(value, 0);
      return r === SKIP ? null : r;
    } catch (e) {
      return '[Error]';
    }
  }

  // The UTF-8 length of a string (what it weighs in a request body).
  function bytes(s) {
    var n = s.length;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c > 0x7f) n += c > 0x7ff && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
    }
    return n;
  }

  // ---- options from the script tag ---------------------------------------------------------

  function readOptions(win) {
    var doc = win.document;
    var s = doc.currentScript;
    if (!s || !s.getAttribute('data-key')) {
      var all = doc.querySelectorAll('script[src*="/t.js"][data-key]');
      s = all[all.length - 1] || s;
    }
    var key = s && s.getAttribute('data-key');
    if (!key) {
      win.console.warn('trackway: expected a data-key attribute on the t.js script tag (the property\'s ' +
        'collect key), got none; nothing is recorded. Add data-key="..." to the tag.');
      return null;
    }
    return { key: key, endpoint: s.getAttribute('data-endpoint') || new URL(s.src).origin + '/collect' };
  }

  // ---- the tracker -------------------------------------------------------------------------

  function install(win, options) {
    var old = win.trackway;
    if (old && old.installed) return old;   // the script included twice
    var doc = win.document;
    var nav = win.navigator || {};
    var con = win.console;
    var key = options.key;
    var endpoint = options.endpoint;
    var QKEY = 'trackway_q_' + key;
    var store = null;
    try {
      store = win.localStorage;
    } catch (e) { /* storage blocked: the queue lives in memory only */ }

    var queue = [];      // {i: id, t: the call's JSON text, n: its bytes, g: group id, b: sent by beacon, f: in flight}
    var groups = {};     // group id -> {c: context, s: consent signals, d: analytics denied, i: ids}
    var owned = {};      // ids this page loaded or recorded (other tabs' stored calls are kept)
    var group = null;
    var groupKey = '';
    var google = {};     // Google consent mode state
    var categories = null;   // Commanders Act consent categories
    var memoryId = null;
    var debug = false;
    var inflight = false;
    var wanted = false;  // a flush was asked for while a request was in flight
    var attempt = 0;
    var timer = 0;
    var retryTimer = 0;
    var saveTimer = 0;
    var cmp = false;

    function log() {
      if (debug) {
        try {
          con.log.apply(con, ['trackway:'].concat(slice.call(arguments)));
        } catch (e) { /* no console */ }
      }
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
        if (!store) return;
        if (value === null) store.removeItem(name);
        else store.setItem(name, value);
      } catch (e) { /* full or blocked */ }
    }

    function uuid() {
      var c = win.crypto;
      try {
        if (c && c.randomUUID) return c.randomUUID();
      } catch (e) { /* not a secure context */ }
      var b = new Uint8Array(16);
      if (c && c.getRandomValues) c.getRandomValues(b);
      else for (var i = 0; i < 16; i++) b[i] = Math.random() * 256;
      b[6] = (b[6] & 15) | 64;
      b[8] = (b[8] & 63) | 128;
      var h = '';
      for (i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1) + ([3, 5, 7, 9].indexOf(i) >= 0 ? '-' : '');
      return h;
    }

    function cookies() {
      var out = {};
      try {
        (doc.cookie || '').split(';').forEach(function (part) {
          var eq = part.indexOf('=');
          if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
        });
      } catch (e) { /* no cookies */ }
      return out;
    }

    // ---- consent and ids ----

    // The consent signals known now, keyed as the server reads them, and whether they deny analytics.
    function consentNow() {
      var s = {};
      var n = 0;
      for (var k in google) {
        s[k] = google[k];
        n++;
      }
      var koalect = cookies().koalect_consent;
      var denied = google.analytics_storage === 'denied';
      if (koalect !== undefined) {
        try {
          koalect = decodeURIComponent(koalect.replace(/\+/g, ' '));
        } catch (e) { /* kept as sent */ }
        s.koalect_consent = koalect;
        n++;
        if (koalect.toLowerCase().split(/[\s,]+/).indexOf('analytics') < 0) denied = true;
      }
      if (categories) {
        s.categories = categories;
        n++;
      }
      return { s: n ? s : undefined, d: denied };
    }

    // Google consent mode: 'update' sets each type it names; 'default' never turns a denial into a grant.
    function applyGoogle(p) {
      if (!Array.isArray(p) || p[0] !== 'consent' || (p[1] !== 'default' && p[1] !== 'update') ||
          !p[2] || typeof p[2] !== 'object') return;
      for (var k in p[2]) {
        var v = typeof p[2][k] === 'string' ? p[2][k].trim().toLowerCase() : '';
        if (v !== 'granted' && v !== 'denied') continue;   // region, wait_for_update, junk
        if (p[1] === 'update' || v === 'denied' || !google[k]) google[k] = v;
      }
    }

    function setCategories(list) {
      if (Array.isArray(list)) categories = list.map(String);
    }

    // The Commanders Act CMP's consent object: the categories whose status is 'on'.
    function onCmp(result) {
      try {
        var c = result && result.consent && result.consent.categories;
        if (c && typeof c === 'object') {
          setCategories(Object.keys(c).filter(function (id) { return c[id] && c[id].status === 'on'; }));
          log('Commanders Act consent categories', categories);
        }
      } catch (e) { /* a CMP of another shape */ }
    }

    function askCmp(fn) {
      if (cmp) return;
      cmp = true;
      try {
        fn('consent.get', onCmp);
        fn('consent.onUpdate', onCmp);
      } catch (e) { /* no CMP */ }
    }

    // The guest id: kept in storage, none (and none stored) while analytics is denied.
    function guestId(create) {
      if (consentNow().d) {
        set('trackway_id', null);
        return null;
      }
      var id = get('trackway_id') || memoryId;
      if (!id && create) {
        id = uuid();
        set('trackway_id', id);
      }
      memoryId = id;
      return id;
    }

    function vendorIds() {
      var c = cookies();
      var ids = {};
      var n = 0;
      if (c._ga) {
        ids.ga_client_id = c._ga.split('.').slice(2).join('.');
        n++;
      }
      if (c.convead_guest_uid) {
        ids.convead_guest_uid = c.convead_guest_uid;
        n++;
      }
      if (c.TCPID) {
        ids.consistent_anonymous_id = c.TCPID;
        n++;
      }
      return n ? ids : undefined;
    }

    // The group of the next call: the page view and consent state it is recorded in.
    function currentGroup() {
      var state = consentNow();
      var loc = win.location || {};
      var k = JSON.stringify([state.s, state.d, loc.href]);
      if (group && k === groupKey) return group;
      if (state.d) set('trackway_id', null);
      groupKey = k;
      group = {
        id: uuid(),
        c: {
          page: { url: loc.href, path: loc.pathname, referrer: doc.referrer, title: doc.title },
          viewport: { width: win.innerWidth, height: win.innerHeight },
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
        var payload = copy(value);   // arguments objects (gtag's) become arrays
        var call = { id: uuid(), payload: payload };
        if (dialect) call.dialect = dialect;
        var g = currentGroup();   // the consent state before this call
        var text = JSON.stringify(call);
        var entry = { i: call.id, t: text, n: bytes(text), g: g.id };
        owned[entry.i] = 1;
        queue.push(entry);
        log('call', source, payload);
        applyGoogle(payload);
        if (dialect === 'commanders-act' && payload[2] && payload[2].user) setCategories(payload[2].user.consent_categories);
        bound();
        saveSoon();
        var p = pending();
        if (p.calls >= FLUSH_CALLS || p.bytes >= FLUSH_BYTES) {
          flush();
        } else {
          win.clearTimeout(timer);
          timer = win.setTimeout(flush, DELAY);
        }
      } catch (e) { /* never into the page */ }
    }

    // Whether `args` are the arguments of a call already being recorded further up the stack
    // (a chain of wrappers: ours around an override around ours).
    function inChain(active, args) {
      for (var i = 0; i < active.length; i++) {
        var a = active[i];
        if (a.length === args.length && a.every(function (x, j) { return x === args[j]; })) return true;
      }
      return false;
    }

    // A function that records its arguments (with `each`), then calls `fn` with the same `this`.
    function recorder(fn, active, each) {
      return function () {
        var args = slice.call(arguments);
        if (!inChain(active, args)) each(args);
        active.push(args);
        try {
          return fn.apply(this, arguments);
        } finally {
          active.pop();
        }
      };
    }

    var hooked = new WeakSet();

    // Capture a dataLayer array: its entries, then every push, through any later push assignment.
    function hookArray(arr) {
      if (!Array.isArray(arr) || hooked.has(arr)) return;
      hooked.add(arr);
      for (var i = 0; i < arr.length; i++) record('dataLayer', arr[i]);
      var active = [];
      var each = function (args) {
        args.forEach(function (a) { record('dataLayer', a); });
      };
      var shown = recorder(arr.push, active, each);
      try {
        Object.defineProperty(arr, 'push', {
          configurable: true,
          enumerable: false,
          get: function () { return shown; },
          set: function (f) { shown = typeof f === 'function' && f !== shown ? recorder(f, active, each) : f; }
        });
      } catch (e) {
        arr.push = shown;   // a sealed array: later assignments are not seen
      }
    }

    function hookDataLayer() {
      var dl = win.dataLayer;
      if (dl === undefined || dl === null) dl = win.dataLayer = [];
      hookArray(dl);
      try {
        Object.defineProperty(win, 'dataLayer', {
          configurable: true,
          enumerable: true,
          get: function () { return dl; },
          set: function (v) {
            dl = v;
            hookArray(v);
          }
        });
      } catch (e) { /* declared with var: a replaced array is not seen */ }
    }

    // cact, convead, insend: wrap the vendor's function, or stand in with a queueing stub.
    function hookVendor(name, dialect, command) {
      var active = [];
      var each = function (args) {
        if (args[0] === command) record(name, args, dialect);
      };
      var stub = function () {
        (stub.q = stub.q || []).push(arguments);
      };
      function wrap(f) {
        if (typeof f !== 'function') return f;
        var w = recorder(f, active, each);
        // the page and the vendor's script still see the function's own properties (its queue `q`)
        return typeof Proxy === 'function' ? new Proxy(f, { apply: function (t, self, args) { return w.apply(self, args); } }) : w;
      }
      var current = win[name];
      if (current !== undefined && current !== null && typeof current !== 'function') return;   // not a vendor's
      if (current) {
        if (Array.isArray(current.q)) current.q.forEach(function (args) { each(slice.call(args)); });
        if (name === 'cact') askCmp(current);
      } else {
        current = stub;
      }
      var shown = wrap(current);
      try {
        Object.defineProperty(win, name, {
          configurable: true,
          enumerable: true,
          get: function () { return shown; },
          set: function (f) {
            if (f === shown) return;
            shown = wrap(f);
            if (name === 'cact' && typeof f === 'function') askCmp(f);
          }
        });
      } catch (e) {
        win[name] = shown;
      }
    }

    // ---- the queue and its storage ----

    function pending() {
      var p = { calls: 0, bytes: 0 };
      queue.forEach(function (c) {
        if (!c.f && !c.b) {
          p.calls++;
          p.bytes += c.n;
        }
      });
      return p;
    }

    // At most MAX_QUEUE calls and MAX_STORED bytes: the oldest go first.
    function bound() {
      var total = 0;
      for (var i = queue.length - 1; i >= 0; i--) {
        total += queue[i].n;
        if (queue.length - i > MAX_QUEUE || total > MAX_STORED) {
          log('the queue is full: ' + (i + 1) + ' oldest calls dropped');
          queue.splice(0, i + 1);
          break;
        }
      }
    }

    function readStored() {
      try {
        var s = JSON.parse(get(QKEY) || 'null');
        if (s && Array.isArray(s.q) && s.g && typeof s.g === 'object') return s;
      } catch (e) { /* not ours */ }
      return { q: [], g: {} };
    }

    function save() {
      win.clearTimeout(saveTimer);
      saveTimer = 0;
      var stored = readStored();
      var q = stored.q.filter(function (c) { return c && !owned[c.i]; });   // another tab's calls
      var g = {};
      q = q.concat(queue.map(function (c) { return { i: c.i, t: c.t, n: c.n, g: c.g, b: c.b }; }));
      q = q.slice(-MAX_QUEUE);
      q.forEach(function (c) { g[c.g] = groups[c.g] || stored.g[c.g]; });
      set(QKEY, q.length ? JSON.stringify({ q: q, g: g }) : null);
    }

    function saveSoon() {
      if (!saveTimer) saveTimer = win.setTimeout(save, 0);
    }

    function load() {
      var stored = readStored();
      stored.q.forEach(function (c) {
        if (c && typeof c.t === 'string' && stored.g[c.g] && !owned[c.i]) {
          owned[c.i] = 1;
          groups[c.g] = stored.g[c.g];
          queue.push({ i: c.i, t: c.t, n: c.n || bytes(c.t), g: c.g });   // beacon marks cleared: sent again
        }
      });
      bound();
    }

    function remove(ids) {
      queue = queue.filter(function (c) { return !ids[c.i]; });
      save();
    }

    // ---- sending ----

    // The next batch: calls of one group in queue order, within LIMIT bytes and FLUSH_CALLS calls.
    // A call too large for any batch goes alone (never by beacon).
    function take(beacon) {
      var batch = null;
      for (var i = 0; i < queue.length; i++) {
        var c = queue[i];
        if (c.f || c.b || (beacon && c.s)) continue;
        if (!batch) {
          var g = groups[c.g];
          var head = envelopeHead(g);
          batch = { g: c.g, head: head, size: bytes(head) + 2, calls: [] };
        } else if (c.g !== batch.g) {
          break;
        }
        if (batch.calls.length && (batch.calls.length >= FLUSH_CALLS || batch.size + c.n + 1 >= LIMIT)) break;
        if (!batch.calls.length && batch.size + c.n >= LIMIT) {
          if (beacon) {
            c.s = 1;   // skipped by beacons; sent on a later load
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
      batch.body = batch.head + batch.calls.map(function (c) { return c.t; }).join(',') + ']}';
      return batch;
    }

    function envelopeHead(g) {
      var e = { key: key, sent_at: new Date().toISOString() };
      var id = g && !g.d ? guestId(true) : null;
      if (id) e.anonymous_id = id;
      e.context = g ? g.c : undefined;
      if (g && g.s) e.consent = g.s;
      if (g && g.i && !g.d) e.ids = g.i;
      return JSON.stringify(e).slice(0, -1) + ',"events":[';
    }

    function post(batch) {
      return win.fetch(endpoint, {
        method: 'POST',
        body: batch.body,
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
        credentials: 'include',
        keepalive: batch.size < LIMIT
      }).then(function (res) {
        return res.text().then(function (text) {
          var json = null;
          try {
            json = JSON.parse(text);
          } catch (e) { /* not JSON */ }
          return { status: res.status, json: json };
        }, function () {
          return { status: res.status, json: null };
        });
      });
    }

    // Send what is queued: one request at a time, the next batch when its answer comes.
    function flush() {
      try {
        if (inflight || retryTimer) {
          wanted = true;
          return;
        }
        if (nav.onLine === false) return;   // the 'online' event flushes
        var batch = take(false);
        if (!batch) return;
        inflight = true;
        batch.calls.forEach(function (c) { c.f = 1; });
        wanted = pending().calls > 0;       // the rest goes after the answer
        post(batch).then(function (answer) {
          answered(batch, answer);
        }, function (err) {
          answered(batch, { status: 0, error: err });
        });
      } catch (e) { /* never into the page */ }
    }

    function answered(batch, answer) {
      try {
        inflight = false;
        var s = answer.status;
        var ids = {};
        batch.calls.forEach(function (c) {
          c.f = 0;
          ids[c.i] = 1;
        });
        if (s === 0 || s >= 500 || s === 408 || s === 429) {
          var wait = Math.min(MAX_DELAY, DELAY * Math.pow(2, attempt++));
          wait = wait / 2 + Math.random() * wait / 2;
          log('answer ' + (s || 'network error') + ': ' + batch.calls.length + ' calls kept, retried in ' +
            Math.round(wait) + ' ms');
          retryTimer = win.setTimeout(function () {
            retryTimer = 0;
            flush();
          }, wait);
          return;
        }
        attempt = 0;
        report(batch, answer);
        remove(ids);
        var p = pending();
        if (wanted || p.calls >= FLUSH_CALLS || p.bytes >= FLUSH_BYTES) flush();
      } catch (e) { /* never into the page */ }
    }

    // The server's answer: adopt its guest id; in debug, each result's verdict and issues.
    function report(batch, answer) {
      var json = answer.json || {};
      if (answer.status !== 200) {
        log('answer ' + answer.status + ': ' + batch.calls.length + ' calls dropped: ' + (json.error || ''));
        return;
      }
      if (typeof json.anonymous_id === 'string' && json.anonymous_id && !consentNow().d) {
        memoryId = json.anonymous_id;
        set('trackway_id', memoryId);
      }
      (Array.isArray(json.results) ? json.results : []).forEach(function (r) {
        log('result', r.index, r.dialect, r.accepted ? 'accepted' : 'rejected');
        (r.issues || []).forEach(function (i) {
          log('  ' + i.severity, i.path, i.code, i.message);
        });
      });
    }

    // The page is hidden or unloading: send what is left by beacon; keep it stored, marked.
    function hide(event) {
      try {
        if (event.type === 'visibilitychange' && doc.visibilityState !== 'hidden') return;
        win.clearTimeout(timer);
        if (nav.onLine !== false) {
          var batch;
          while ((batch = take(true))) {
            batch.calls.forEach(function (c) { c.b = 1; });
            var sent = false;
            try {
              sent = nav.sendBeacon(endpoint, batch.body);
            } catch (e) { /* no beacon */ }
            log((sent ? 'beacon: ' : 'fetch keepalive: ') + batch.calls.length + ' calls');
            if (!sent) {
              post(batch).then(function (b) {
                return function (answer) {
                  if (answer.status === 200) {
                    var ids = {};
                    b.calls.forEach(function (c) { ids[c.i] = 1; });
                    remove(ids);
                  }
                };
              }(batch), function () {});
            }
          }
        }
        save();
      } catch (e) { /* never into the page */ }
    }

    // ---- the trackway() function ----

    function trackway(command, a, b) {
      try {
        if (command === 'debug') debug = !!a;
        else if (command === 'flush') flush();
        else if (command === 'event') record('trackway', a, typeof b === 'string' ? b : undefined);
      } catch (e) { /* never into the page */ }
    }
    trackway.installed = VERSION;

    try {
      debug = /[?&]trackway_debug=1(&|$)/.test((win.location || {}).search || '') || get('trackway_debug') === '1';
    } catch (e) { /* no location */ }
    load();
    var earlier = queue.length;
    hookDataLayer();
    hookVendor('cact', 'commanders-act', 'trigger');
    hookVendor('convead', 'convead', 'event');
    hookVendor('insend', 'insend', 'event');
    win.trackway = trackway;
    if (old && Array.isArray(old.q)) old.q.forEach(function (args) { trackway.apply(null, args); });
    (doc.addEventListener ? doc : win).addEventListener('visibilitychange', hide);
    win.addEventListener('pagehide', hide);
    win.addEventListener('online', function () {
      win.clearTimeout(retryTimer);
      retryTimer = 0;
      flush();
    });
    if (earlier) flush();   // an earlier page view's calls
    return trackway;
  }

  return { install: install, readOptions: readOptions, copy: copy };
});
