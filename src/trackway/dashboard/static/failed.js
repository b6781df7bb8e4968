// Failed events: the quality report's errors by code and path (counts, a sample each),
// the latest failed payloads, and replay after a fix.

import { api, errorBox, eventLink, fill, h, query, session, table, title, when } from "./dom.js";
import { firstError } from "./live.js";

function replayPanel(onDone) {
  const code = h("input", { name: "code", size: 22, placeholder: "every code" });
  const since = h("input", { name: "since", size: 10, placeholder: "e.g. 7d" });
  const button = h("button", { type: "submit" }, "Replay");
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "panel" },
    h("h2", {}, "Replay"),
    h("p", { class: "muted" }, "After fixing the configuration or the site, validate the failed payloads again: those that pass now are stored as events."),
    h("div", { class: "row" }, h("label", {}, "Only this code", code), h("label", {}, "Received since", since), button),
    out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    button.disabled = true;
    fill(out, h("p", { class: "muted" }, "Replaying…"));
    try {
      const body = { code: code.value.trim() || undefined, since: since.value.trim() || undefined };
      if (session.property) body.property = session.property;
      const r = await api("/api/replay", { method: "POST", body });
      fill(out, h("p", { class: r.fixed ? "ok-box" : "muted", role: "status" },
        `Examined ${r.examined} failed payloads: ${r.fixed} now pass (${r.events} events stored), ${r.still_failing} still fail.`));
      onDone();
    } catch (err) {
      fill(out, errorBox(err));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

const RANGES = [["24h", "the last 24 hours"], ["7d", "the last 7 days"], ["30d", "the last 30 days"], ["", "all time"]];

export async function failedPage(main) {
  title(main, "Failed events");
  const groups = h("section", {});
  const latest = h("section", {});
  // A week by default: what someone fixing a site looks at, and quick on any store.
  const range = h("select", { name: "range", "aria-label": "Received in" },
    RANGES.map(([v, label]) => h("option", { value: v, selected: v === "7d" }, label)));
  const load = async () => {
    const since = range.value;
    const [quality, failed] = await Promise.all([
      api(`/api/reports/quality${query({ section: "paths", since })}`),
      api(`/api/failed_events${query({ limit: 100, replayed: "false", since })}`),
    ]);
    const paths = quality.sections.paths || [];
    fill(groups, 
      h("h2", {}, "By code and path"),
      paths.length
        ? table([
            session.property ? null : { key: "property", label: "Property" },
            { key: "code", label: "Code", render: (r) => h("code", {}, r.code) },
            { key: "path", label: "Path", render: (r) => h("code", {}, r.path) },
            { key: "payloads", label: "Payloads", num: true },
            { key: "example", label: "Sample", render: (r) => [h("a", { href: eventLink({ property: r.property, id: r.sample }) }, "open"), " ", r.example] },
          ].filter(Boolean), paths)
        : h("p", { class: "ok-box" }, "No failed payloads."),
    );
    fill(latest, 
      h("h2", {}, "Latest failed payloads"),
      failed.failed_events.length
        ? table([
            { key: "received_at", label: "Received", render: (r) => when(r.received_at) },
            session.property ? null : { key: "property", label: "Property" },
            { key: "dialect", label: "Dialect" },
            { key: "endpoint", label: "Endpoint" },
            { key: "names", label: "Events", render: (r) => h("a", { href: eventLink(r) }, (r.names || []).join(", ") || "(unreadable)") },
            { key: "issues", label: "First error", render: (r) => { const i = firstError(r.issues); return [h("code", {}, i.code || ""), " ", h("code", {}, i.path || "$"), " ", i.message || ""]; } },
          ].filter(Boolean), failed.failed_events, () => "failed")
        : h("p", { class: "muted" }, "None waiting for a replay."),
    );
  };
  range.addEventListener("change", () => load().catch((err) => fill(groups, errorBox(err))));
  main.append(replayPanel(load), h("p", { class: "row" }, h("label", {}, "Received in", range)), groups, latest);
  await load();
}
