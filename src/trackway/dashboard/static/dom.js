// Helpers every page uses. Nothing here ever parses markup: elements are made with
// createElement and text is set as text, so whatever an event holds (a name such as
// "<img src=x onerror=alert(1)>") is shown, never run. The page's CSP forbids inline
// scripts anyway; this is the first line of defence, not the last.

export const session = { scope: null, csrf: null, properties: [], property: "" };

// h("a", {href: "#/x", class: "c", onclick: f}, "text", child, ...)
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// A call to the JSON API with the session cookie; POSTs carry the CSRF token.
export async function api(path, options = {}) {
  const init = { method: options.method || "GET", credentials: "same-origin", headers: {} };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers["content-type"] = "application/json";
  }
  if (init.method !== "GET" && session.csrf) init.headers["x-csrf-token"] = session.csrf;
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, `the collector did not answer (${err.message}); is it running?`);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { error: text.slice(0, 300) };
  }
  if (!response.ok) {
    const message = body && body.error ? body.error : `HTTP ${response.status}`;
    if (response.status === 401 && options.signin !== false) window.dispatchEvent(new CustomEvent("tw-signed-out", { detail: message }));
    throw new ApiError(response.status, message);
  }
  return body;
}

// The query string of the current property choice plus ``params`` (empty values left out).
export function query(params = {}) {
  const q = new URLSearchParams();
  if (session.property) q.set("property", session.property);
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function errorBox(err) {
  return h("div", { class: "error-box", role: "alert" }, err instanceof Error ? err.message : String(err));
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

// A table of ``rows`` (objects) with ``columns`` [{key, label, num, render}] .
export function table(columns, rows, rowClass) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label || c.key)));
  const body = rows.map((row) =>
    h("tr", { class: rowClass ? rowClass(row) : null }, columns.map((c) => cell(c, row))),
  );
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

// A cell whose text is long (a 5,000-character id from an event, a URL) is cut to a few
// wrapped lines, its whole text in the title: the table's other columns, its numbers,
// stay on the screen.
const LONG_CELL = 300; // characters
const LONG_WORD = /\S{40}/; // a run no line can break

function cell(c, row) {
  const td = h("td", { class: c.num ? "num" : null }, c.render ? c.render(row) : text(row[c.key]));
  const full = td.textContent;
  if (!c.num && (full.length > LONG_CELL || LONG_WORD.test(full))) {
    const clip = h("div", { class: "clip", title: full });
    clip.append(...td.childNodes);
    td.append(clip);
    td.classList.add("long");
  }
  return td;
}

export function text(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// ``rows`` as CSV text (RFC 4180 quoting).
export function csv(columns, rows) {
  const cell = (v) => {
    const s = text(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [columns.map(cell).join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

export function download(name, content, type = "text/csv") {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function copyButton(value, label = "Copy") {
  const button = h("button", { type: "button", class: "quiet" }, label);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy";
    }
    setTimeout(() => (button.textContent = label), 1500);
  });
  return button;
}

// An event's page; its received time, when known, lets the store find it without a scan.
export function eventLink(entry) {
  const at = entry.received_at ? `?at=${encodeURIComponent(entry.received_at)}` : "";
  return `#/event/${encodeURIComponent(entry.property)}/${encodeURIComponent(entry.id)}${at}`;
}

export function title(main, text) {
  document.title = `${text} · Trackway`;
  return append(main, [h("h1", {}, text)]);
}

export function loading() {
  return h("p", { class: "muted", role: "status" }, "Loading…");
}

// Replace ``node``'s children with ``children`` (arrays flattened, null left out).
export function fill(node, ...children) {
  return append(clear(node), children);
}
