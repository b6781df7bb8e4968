// One event (or failed payload): the payload with each issue's path marked in it, the
// canonical event, the same event in every other dialect, and its person.

import { api, append, h, title, when } from "./dom.js";
import { jsonView, marked } from "./json.js";

export function issueList(issues) {
  if (!issues || !issues.length) return h("p", { class: "ok-box" }, "No issues.");
  return h(
    "ul",
    { class: "issues" },
    issues.map((i) =>
      h("li", {}, h("span", { class: `badge ${i.severity}` }, i.severity), " ", h("code", {}, i.path), " ",
        h("code", { class: "muted" }, i.code), " ", i.message),
    ),
  );
}

export function renders(all) {
  const names = Object.keys(all || {}).sort();
  if (!names.length) return h("p", { class: "muted" }, "No other dialect renders this event.");
  return names.map((dialect) => {
    const r = all[dialect];
    const warnings = (r.issues || []).length;
    return h(
      "details",
      { "data-dialect": dialect },
      h("summary", {}, dialect, " ",
        r.error ? h("span", { class: "badge error" }, "cannot render") : warnings ? h("span", { class: "badge warning" }, `${warnings} warning${warnings === 1 ? "" : "s"}`) : h("span", { class: "badge ok" }, "ok")),
      r.error ? h("p", { class: "error-box" }, r.error) : [issueList(r.issues), jsonView(r.payload, new Set(), `${dialect} payload`)],
    );
  });
}

export async function eventPage(main, [property, id]) {
  title(main, "Event");
  if (!id) throw new Error("expected an event's property and id in the address (#/event/PROPERTY/ID)");
  const q = new URLSearchParams({ id, property });
  const at = new URLSearchParams(location.hash.split("?")[1] || "").get("at");
  if (at) q.set("at", at);
  const e = await api(`/api/event?${q}`);
  main.querySelector("h1").textContent = `${e.kind === "failed" ? "Failed payload" : "Event"}: ${(e.event && e.event.name) || (e.names || [])[0] || e.id}`;
  const issues = e.issues || [];
  const marks = marked(e.payload, issues.map((i) => i.path));
  const person = e.person || {};
  const ids = [person.user_id, person.anonymous_id].filter(Boolean);
  append(main, [ // append() flattens: renders() gives an array
    h("div", { class: "panel" }, h("dl", { class: "facts" },
      h("dt", {}, "Status"), h("dd", {}, h("span", { class: `badge ${e.kind === "failed" ? "failed" : "valid"}` }, e.kind === "failed" ? "failed" : "valid")),
      h("dt", {}, "Id"), h("dd", { class: "mono" }, e.id),
      h("dt", {}, "Property"), h("dd", {}, e.property),
      h("dt", {}, "Dialect"), h("dd", {}, e.dialect || "unknown"),
      h("dt", {}, "Endpoint"), h("dd", {}, e.endpoint || ""),
      h("dt", {}, "Received"), h("dd", {}, when(e.received_at)),
      h("dt", {}, "Person"), h("dd", {}, ids.length ? ids.map((v) => [h("a", { href: `#/people/${encodeURIComponent(v)}` }, v), " "]) : "no id"),
    )),
    h("div", { class: "grid" },
      h("section", {},
        h("h2", {}, e.payload_source === "rendered" ? "Payload (rendered back from the stored event)" : "Payload as received"),
        e.payload_source === "rendered" ? h("p", { class: "muted" }, "Valid events are stored in their canonical form, which keeps every field for an exact round trip; this is that event in its own dialect.") : null,
        h("h3", {}, `Issues (${issues.length})`), issueList(issues),
        jsonView(e.payload, marks, "payload")),
      h("section", {}, h("h2", {}, "Canonical event"),
        e.event ? jsonView(e.event, new Set(), "canonical event") : h("p", { class: "muted" }, "The payload gave no event.")),
    ),
    h("h2", {}, "In the other dialects"),
    renders(e.renders),
  ]);
}
