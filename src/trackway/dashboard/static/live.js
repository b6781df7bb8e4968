// Live events: the newest stored events and failed payloads, then each one as the
// store takes it (server-sent events from /api/live), filtered here and on the server.

import { api, eventLink, fill, h, query, session, table, title, when } from "./dom.js";

const MAX_ROWS = 500;
const FIELDS = [
  ["dialect", "Dialect"],
  ["name", "Event name"],
  ["endpoint", "Endpoint"],
  ["person", "Person id"],
  ["q", "Text"],
];

export function fromEvent(e, endpoint = "") {
  const c = e.commerce || {};
  const amount = c.revenue ?? c.value;
  return {
    kind: "event", status: "valid", id: e.id, property: e.property, name: e.name, dialect: e.dialect,
    endpoint, received_at: e.received_at,
    anonymous_id: e.anonymous_id, user_id: e.user_id,
    amount: amount !== undefined && amount !== null ? `${amount} ${c.currency || ""}`.trim() : undefined,
    items: c.items ? c.items.length : undefined,
  };
}

// What made a payload fail: its first error (warnings may come before it), else its first issue.
export function firstError(issues) {
  const all = issues || [];
  return all.find((i) => i.severity === "error") || all[0] || {};
}

export function fromFailed(f) {
  const issues = f.issues || [];
  const first = firstError(issues);
  return {
    kind: "failed", status: "failed", id: f.id, property: f.property, name: (f.names || [])[0] || null,
    dialect: f.dialect, endpoint: f.endpoint, received_at: f.received_at, issues: issues.length,
    codes: [...new Set(issues.map((i) => i.code))], problem: `${first.path || "$"}: ${first.message || ""}`,
  };
}

function matches(entry, filters) {
  for (const key of ["dialect", "name", "endpoint"]) if (filters[key] && entry[key] !== filters[key]) return false;
  if (filters.status && entry.status !== filters.status) return false;
  if (filters.person && filters.person !== entry.anonymous_id && filters.person !== entry.user_id) return false;
  if (filters.q) {
    const hay = Object.values(entry).filter((v) => typeof v === "string").join(" ").toLowerCase();
    if (!hay.includes(filters.q.toLowerCase())) return false;
  }
  return true;
}

export async function live(main) {
  title(main, "Live events");
  const filters = { status: "" };
  const inputs = FIELDS.map(([key, label]) => {
    const input = h("input", { type: "search", name: key, "data-filter": key, size: 14 });
    return [key, input, h("label", {}, label, input)];
  });
  const status = h("select", { name: "status", "data-filter": "status" },
    h("option", { value: "" }, "valid and failed"), h("option", { value: "valid" }, "valid"),
    h("option", { value: "failed" }, "failed"));
  const pause = h("button", { type: "button", "aria-pressed": "false" }, "Pause");
  const line = h("p", { class: "status-line", role: "status", "aria-live": "polite" }, "Connecting…");
  const list = h("div", {});
  main.append(
    h("div", { class: "panel" }, h("div", { class: "row" }, inputs.map((i) => i[2]), h("label", {}, "Status", status), pause)),
    line, list,
  );

  let rows = [];
  let held = [];
  let paused = false;
  let source = null;
  let received = 0;
  let skipped = 0;

  const render = () => {
    const shown = rows.filter((r) => matches(r, filters));
    const columns = [
      { key: "received_at", label: "Received", render: (r) => when(r.received_at) },
      { key: "status", label: "Status", render: (r) => h("span", { class: `badge ${r.status}` }, r.status) },
      session.property ? null : { key: "property", label: "Property" },
      { key: "name", label: "Event", render: (r) => h("a", { href: eventLink(r) }, r.name || "(unnamed)") },
      { key: "dialect", label: "Dialect" },
      { key: "endpoint", label: "Endpoint" },
      { key: "person", label: "Person", render: (r) => r.user_id || r.anonymous_id || "" },
      { key: "detail", label: "Detail", render: (r) => (r.status === "failed" ? r.problem : [r.amount, r.items ? `${r.items} items` : ""].filter(Boolean).join(", ")) },
    ].filter(Boolean);
    fill(list, shown.length ? table(columns, shown, (r) => r.status) : h("p", { class: "muted" }, "No events match yet."));
  };
  const say = (state) => {
    const extra = skipped ? `, ${skipped} not shown (over 50 a batch)` : "";
    line.textContent = `${state}; ${received} received since opened${extra}${paused ? `; paused: ${held.length} waiting` : ""}.`;
  };
  const key = (r) => `${r.status}/${r.property}/${r.id}`;
  const newest = (a, b) => Date.parse(b.received_at) - Date.parse(a.received_at);
  // The latest stored events and failed payloads the filters may want (the name and the
  // status are asked of the API; the rest is filtered here), merged with the rows held.
  const history = async () => {
    const named = filters.name ? { name: filters.name } : {};
    const [events, failed] = await Promise.all([
      filters.status === "failed" ? null : api(`/api/events${query({ limit: 50, ...named })}`),
      filters.status === "valid" ? null : api(`/api/failed_events${query({ limit: 50 })}`),
    ]);
    const got = [
      ...(events ? events.events.map((e, n) => fromEvent(e, (events.endpoints || [])[n])) : []),
      ...(failed ? failed.failed_events.map(fromFailed) : []),
    ];
    const held = new Set(rows.map(key));
    rows = [...rows, ...got.filter((r) => !held.has(key(r)))].sort(newest).slice(0, MAX_ROWS);
  };
  let drawing = null; // one redraw per 250 ms however many batches come
  const add = (entries) => {
    rows = [...entries.slice().reverse(), ...rows].slice(0, MAX_ROWS);
    drawing ||= setTimeout(() => {
      drawing = null;
      render();
    }, 250);
  };
  let left = false; // the page was left: a late answer must not open a stream again
  const connect = () => {
    if (source) source.close();
    if (left) return;
    const params = {};
    for (const [key] of FIELDS) if (filters[key]) params[key] = filters[key];
    if (filters.status) params.status = filters.status;
    source = new EventSource(`/api/live${query(params)}`);
    source.onopen = () => say("Live");
    source.onerror = async () => {
      if (source.readyState !== EventSource.CLOSED) return say("Reconnecting");
      // Refused (EventSource gives up on any answer but a stream): a session that ended
      // (api() then returns the page to sign-in, saying why), or a full server.
      say("The live stream was refused");
      try {
        await api("/api/session");
        say("The live stream was refused; retrying in 10 s");
        clearTimeout(timer);
        timer = setTimeout(connect, 10_000);
      } catch (err) {
        say(`The live stream was refused: ${err.message}`);
      }
    };
    source.onmessage = (msg) => {
      const batch = JSON.parse(msg.data);
      received += batch.events.length;
      skipped += batch.skipped || 0;
      if (paused) held.push(...batch.events);
      else add(batch.events);
      say("Live");
    };
  };
  let timer = null;
  // A new filter streams what it wants from now on; what came while another filter hid it
  // (never streamed here) is read again from the store.
  const refilter = async () => {
    connect();
    try {
      await history();
      render();
    } catch (err) {
      say(`Live, but the latest events could not be read again (${err.message})`);
    }
  };
  const changed = () => {
    for (const [name, input] of inputs) filters[name] = input.value.trim();
    filters.status = status.value;
    render();
    clearTimeout(timer);
    timer = setTimeout(refilter, 400);
  };
  for (const [, input] of inputs) input.addEventListener("input", changed);
  status.addEventListener("change", changed);
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    if (!paused && held.length) {
      add(held);
      held = [];
    }
    say("Live");
  });

  await history();
  render();
  connect();
  return () => {
    left = true;
    clearTimeout(timer);
    clearTimeout(drawing);
    if (source) source.close();
  };
}
