// Reports as charts and tables, with the CLI's --since/--until/--by, a CSV download and
// a link to the JSON API behind each.

import { api, errorBox, fill, h, query, session, table, title } from "./dom.js";
import { bars, legend, lines } from "./chart.js";

const NAMES = ["funnel", "revenue", "orders", "products", "carts", "procedures", "quality"];
const DEFAULT_BY = { revenue: "day" };
const RATIOS = new Set(["from_previous", "from_first"]); // the funnel's shares, shown as percentages

function percent(value) {
  return value === null || value === undefined ? "" : `${(Number(value) * 100).toFixed(1)} %`;
}

function chartFor(name, section, rows) {
  const total = (key, value) => {
    const sums = new Map();
    for (const r of rows) sums.set(key(r), (sums.get(key(r)) || 0) + Number(r[value] || 0));
    return [...sums].map(([label, v]) => ({ label, value: v }));
  };
  const many = !session.property;
  if (name === "revenue" && section === "revenue") {
    if (rows.some((r) => r.period)) {
      // One chart a currency, each on its own scale (a day in JPY would flatten EUR), the
      // properties as its lines; the currencies with the most orders first.
      const byCurrency = {};
      for (const r of rows) {
        const series = (byCurrency[r.currency] ||= { orders: 0, series: {} });
        series.orders += Number(r.orders || 0);
        const key = many ? r.property : "net";
        (series.series[key] ||= {})[r.period] = (series.series[key][r.period] || 0) + Number(r.net || 0);
      }
      const shown = Object.entries(byCurrency).sort((a, b) => b[1].orders - a[1].orders).slice(0, 4);
      return [h("h3", {}, "Net revenue over time, per currency"),
        shown.map(([currency, c]) => [h("h4", {}, currency), many ? legend(Object.keys(c.series)) : null,
          lines(c.series, `Net revenue in ${currency} by period`)])];
    }
    return [h("h3", {}, "Net revenue per currency"), bars(total((r) => `${many ? `${r.property} ` : ""}${r.currency}`, "net"), "Net revenue per currency")];
  }
  if (name === "funnel" && section === "steps")
    return [h("h3", {}, "People per step"), bars(total((r) => `${many ? `${r.property}: ` : ""}${r.step}. ${r.name}`, "people"), "People per funnel step")];
  if (name === "orders" && section === "statuses") return [bars(total((r) => r.status, "orders"), "Orders by status")];
  if (name === "carts" && section === "carts") return [bars(total((r) => r.state, "carts"), "Carts by state")];
  if (name === "products" && section === "products")
    return [h("h3", {}, "Most purchased"), bars(total((r) => r.item, "purchases").sort((a, b) => b.value - a.value), "Purchases per product")];
  if (name === "procedures" && section === "funnel") return [bars(total((r) => `${r.slug}: ${r.stage}`, "people"), "People per procedure stage")];
  if (name === "quality" && section === "events") {
    const rejected = total((r) => `${r.dialect} ${r.event}`, "rejected").filter((i) => i.value > 0).sort((a, b) => b.value - a.value);
    return rejected.length ? [h("h3", {}, "Rejected events"), bars(rejected, "Rejected events by dialect and name")] : [];
  }
  return [];
}

export async function reportsPage(main, [chosen]) {
  const name = NAMES.includes(chosen) ? chosen : "revenue";
  title(main, `Report: ${name}`);
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  // Another report keeps the range (and the grouping) chosen here.
  const kept = new URLSearchParams([...params].filter(([k]) => ["since", "until", "by"].includes(k))).toString();
  const tabs = h("nav", { class: "row", "aria-label": "Reports" },
    NAMES.map((n) => h("a", { href: `#/reports/${n}${kept ? `?${kept}` : ""}`, class: n === name ? "button" : "button quiet", "aria-current": n === name ? "page" : null }, n)));
  const since = h("input", { name: "since", size: 17, value: params.get("since") || "", placeholder: "30d or 2026-11-01" });
  const until = h("input", { name: "until", size: 12, value: params.get("until") || "", placeholder: "now" });
  const by = h("select", { name: "by" }, ["", "day", "week", "month"].map((v) =>
    h("option", { value: v, selected: (params.get("by") ?? DEFAULT_BY[name] ?? "") === v }, v || "whole range")));
  const form = h("form", { class: "panel row" }, h("label", {}, "Since", since), h("label", {}, "Until", until),
    h("label", {}, "By", by), h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams({ since: since.value.trim(), until: until.value.trim(), by: by.value });
    location.hash = `#/reports/${name}?${q}`;
  });
  const out = h("div", {}, h("p", { class: "muted", role: "status" }, "Loading…"));
  main.append(tabs, form, out);
  const args = { since: since.value.trim(), until: until.value.trim(), by: by.value };
  const path = `/api/reports/${name}${query(args)}`;
  let doc;
  try {
    doc = await api(path);
  } catch (err) {
    fill(out, errorBox(err)); // in place of "Loading…"
    return;
  }
  const csvPath = `/api/reports/${name}${query({ ...args, format: "csv" })}`;
  fill(out, 
    h("p", { class: "row" }, h("a", { class: "button quiet", href: csvPath, download: `${name}.csv` }, "Download CSV"),
      h("a", { class: "button quiet", href: path, target: "_blank", rel: "noopener" }, "JSON API")),
    Object.entries(doc.sections).map(([section, rows]) => {
      const columns = rows.length ? Object.keys(rows[0]).filter((c) => c !== "period" || rows.some((r) => r.period)) : [];
      return h("section", { class: "panel", "data-section": section },
        h("h2", {}, section),
        rows.length ? chartFor(name, section, rows) : null,
        rows.length
          ? table(columns.map((c) => ({ key: c, label: c.replaceAll("_", " "), num: rows.some((r) => typeof r[c] === "number"), render: RATIOS.has(c) ? (r) => percent(r[c]) : undefined })), rows.slice(0, 500))
          : h("p", { class: "muted" }, "No rows for this range."),
        rows.length > 500 ? h("p", { class: "muted" }, `First 500 of ${rows.length} rows; the CSV has them all.`) : null);
    }),
  );
}
