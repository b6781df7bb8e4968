// The validator: paste payloads, dataLayer.push(...)/gtag(...)/cact(...) calls or a
// page's script; each call's dialect, issues and conversions, from the same engine as
// `trackway validate`. Nothing is stored.

import { api, errorBox, fill, h, title } from "./dom.js";
import { jsonView, marked } from "./json.js";
import { issueList, renders } from "./event.js";

const EXAMPLE = `dataLayer.push({ ecommerce: null });
dataLayer.push({
  event: "purchase",
  ecommerce: {
    transaction_id: "T_12345",
    value: 30.03,
    currency: "EUR",
    items: [{ item_id: "SKU_1", item_name: "Stan and Friends Tee", price: 10.01, quantity: 3 }]
  }
});`;

export async function validatePage(main) {
  title(main, "Validator");
  const text = h("textarea", { id: "snippet", name: "text", spellcheck: "false", "aria-label": "Payloads or script" });
  text.value = EXAMPLE;
  const dialect = h("input", { name: "dialect", value: "auto", size: 14 });
  const currency = h("input", { name: "default_currency", size: 5, placeholder: "none" });
  const button = h("button", { type: "submit" }, "Validate");
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "panel" },
    h("p", { class: "muted" }, "JSON, object literals, dataLayer.push(…), gtag(…), cact(…), convead(…) calls, or a whole page's script."),
    text,
    h("div", { class: "row" }, h("label", {}, "Dialect", dialect), h("label", {}, "Default currency", currency), button));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    button.disabled = true;
    try {
      const body = { text: text.value, dialect: dialect.value.trim() || "auto" };
      if (currency.value.trim()) body.default_currency = currency.value.trim();
      show(out, await api("/api/validate", { method: "POST", body }));
    } catch (err) {
      fill(out, errorBox(err));
    } finally {
      button.disabled = false;
    }
  });
  main.append(form, out);
}

function show(out, result) {
  const calls = result.calls || [];
  fill(out, 
    h("p", { role: "status" }, `${calls.length} call${calls.length === 1 ? "" : "s"}: ${calls.filter((c) => c.valid).length} valid.`),
    (result.notes || []).map((n) => h("p", { class: "muted" }, n)),
    calls.map((c, n) =>
      h("section", { class: "panel call", "data-valid": String(c.valid) },
        h("h2", {}, `Call ${n + 1}: `, c.dialect || "unknown dialect", " ", h("span", { class: `badge ${c.valid ? "valid" : "failed"}` }, c.valid ? "valid" : "invalid")),
        c.detection ? h("p", { class: "muted" }, c.detection) : null,
        c.source ? h("pre", {}, c.source) : null,
        issueList(c.issues),
        h("details", {}, h("summary", {}, "Payload with the issues marked"), jsonView(c.payload, marked(c.payload, (c.issues || []).map((i) => i.path)), "payload")),
        (c.events || []).length ? h("details", {}, h("summary", {}, `Canonical event${c.events.length > 1 ? "s" : ""}`), c.events.map((e) => jsonView(e, new Set(), "canonical event"))) : null,
        h("h3", {}, "Conversions"),
        renders(c.renders),
      ),
    ),
  );
}
