// JSON shown as text, with the values that issues point at marked. Paths are written
// as Trackway writes them ($.ecommerce.items[1].price, $['a key']).

import { h } from "./dom.js";

const IDENT = /^[\p{L}_][\p{L}\p{N}_]*$/u;

export function child(base, key) {
  if (typeof key === "number") return `${base}[${key}]`;
  if (IDENT.test(key)) return `${base}.${key}`;
  const quote = key.includes("'") && !key.includes('"') ? '"' : "'";
  const body = key.replaceAll("\\", "\\\\").replaceAll(quote, `\\${quote}`);
  return `${base}[${quote}${body}${quote}]`;
}

function walk(value, path, into) {
  into.add(path);
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, child(path, i), into));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, child(path, k), into);
  return into;
}

export function parent(path) {
  const m = path.match(/^(.*?)(\.[\p{L}_][\p{L}\p{N}_]*|\[(?:\d+|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\])$/u);
  return m ? m[1] : null;
}

// Which paths of ``value`` to mark for ``paths``: each itself, or (for a key that was
// missing) its nearest ancestor that is there. A path not in JSON-path form ("user_id":
// a render's note on a canonical field the dialect cannot carry) is not in the payload.
export function marked(value, paths) {
  const present = walk(value, "$", new Set());
  const out = new Set();
  for (let p of paths) {
    if (typeof p !== "string" || !p.startsWith("$")) continue;
    while (p && !present.has(p)) p = parent(p);
    out.add(p || "$");
  }
  return out;
}

// A <pre> of ``value`` pretty-printed, marking the values at ``marks`` (a Set of paths).
export function jsonView(value, marks = new Set(), label = "JSON") {
  const pre = h("pre", { class: "json", tabindex: "0", "aria-label": label });
  const write = (v, path, indent, into) => {
    let out = into;
    if (marks.has(path)) {
      out = h("mark", { title: path });
      into.append(out);
    }
    const pad = " ".repeat(indent + 2);
    if (Array.isArray(v) && v.length) {
      out.append("[\n");
      v.forEach((item, i) => {
        out.append(pad);
        write(item, child(path, i), indent + 2, out);
        out.append(i < v.length - 1 ? ",\n" : "\n");
      });
      out.append(`${" ".repeat(indent)}]`);
    } else if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) {
      const entries = Object.entries(v);
      out.append("{\n");
      entries.forEach(([k, item], i) => {
        out.append(pad, h("span", { class: "key" }, JSON.stringify(k)), ": ");
        write(item, child(path, k), indent + 2, out);
        out.append(i < entries.length - 1 ? ",\n" : "\n");
      });
      out.append(`${" ".repeat(indent)}}`);
    } else {
      out.append(JSON.stringify(v) ?? "null");
    }
  };
  write(value, "$", 0, pre);
  return pre;
}
