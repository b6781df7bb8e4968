// People: look a person up by any id; their ids and links, consent, carts, orders and
// latest events; subject export and forget (confirmed by typing the id).

import { api, download, errorBox, eventLink, fill, h, query, session, table, title, when } from "./dom.js";
import { jsonView } from "./json.js";

export async function peoplePage(main, [id]) {
  title(main, "People");
  const input = h("input", { type: "search", name: "id", value: id || "", size: 40, "aria-label": "Any id: anonymous id, user id, client id" });
  const form = h("form", { class: "panel row" }, h("label", {}, "Any id (anonymous, user, a vendor's client id)", input), h("button", { type: "submit" }, "Look up"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = `#/people/${encodeURIComponent(input.value.trim())}`;
  });
  main.append(form);
  if (!id) {
    main.append(h("p", { class: "muted" }, "Open a person from an event's detail, or type an id."));
    return;
  }
  const found = await api(`/api/person${query({ id })}`);
  if (!found.people.length) {
    main.append(h("p", { class: "muted", role: "status" }, `No person has the id ${id}.`));
    return;
  }
  for (const p of found.people) main.append(personView(p, input));
}

// A cart's or an order's columns (the person's own left out), times as every page shows them.
function columnsOf(row) {
  return Object.keys(row)
    .filter((k) => !["property", "person_id", "lines"].includes(k))
    .map((k) => ({ key: k, label: k.replaceAll("_", " "), render: k.endsWith("_at") ? (r) => when(r[k]) : undefined }));
}

function personView(d, input) {
  const ids = (d.identity && d.identity.ids) || [];
  const users = ids.filter((i) => i.kind === "user").map((i) => i.id);
  const section = h("section", { class: "panel person" },
    h("h2", {}, `Person ${d.person_id}`, session.property ? "" : ` (${d.property})`),
    h("h3", {}, "Ids"),
    table([{ key: "kind" }, { key: "id", render: (r) => h("code", {}, r.id) }, { key: "first_seen", label: "first seen", render: (r) => when(r.first_seen) }, { key: "last_seen", label: "last seen", render: (r) => when(r.last_seen) }], ids),
    d.identity && d.identity.links.length ? [h("h3", {}, "Links"), table([{ key: "anonymous_id", label: "anonymous id" }, { key: "user_id", label: "user id" }, { key: "at", render: (r) => when(r.at) }], d.identity.links)] : null,
    d.identity && d.identity.conflicts.length ? [h("h3", {}, "Conflicts"), table(Object.keys(d.identity.conflicts[0]).map((k) => ({ key: k })), d.identity.conflicts)] : null,
    h("h3", {}, "Consent (as last stated)"),
    d.consent ? jsonView(d.consent, new Set(), "consent") : h("p", { class: "muted" }, "No consent signal in their events."),
    h("h3", {}, `Carts (${d.carts.length})`),
    d.carts.length ? table(columnsOf(d.carts[0]), d.carts) : h("p", { class: "muted" }, "None."),
    h("h3", {}, `Orders (${d.orders.length})`),
    d.orders.length ? table(columnsOf(d.orders[0]), d.orders) : h("p", { class: "muted" }, "None."),
    h("h3", {}, `Timeline (latest ${d.events.length})`),
    table([
      { key: "timestamp", label: "time", render: (e) => when(e.timestamp) },
      { key: "name", label: "event", render: (e) => h("a", { href: eventLink(e) }, e.name) },
      { key: "dialect" },
      { key: "ids", label: "ids", render: (e) => [e.user_id, e.anonymous_id].filter(Boolean).join(" / ") },
    ], d.events),
    actions(d, users, (report) => forgotten(section, d, report, input)),
  );
  return section;
}

// What a forget did, in words (as `trackway forget` says it).
export function forgetSummary(r) {
  const n = (count, one, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
  const lines = [
    `Forgot ${n(r.people, "person", "people")}: ${n(r.events, "event")} anonymised; ${n(r.identities, "id")}, ` +
      `${n(r.links, "link")} and ${n(r.conflicts, "conflict")} removed; ${n(r.failed_events, "failed payload")} scrubbed.`,
  ];
  const elsewhere = Object.entries(r.elsewhere || {}).sort();
  if (elsewhere.length) lines.push(`Also scrubbed: ${elsewhere.map(([t, c]) => `${n(c, "row")} of ${t}`).join(", ")}.`);
  if (r.compacted) lines.push("The database file was rewritten: no erased value is left in it.");
  if (r.log) {
    lines.push(`Log: ${n(r.log.records, "record")} scrubbed in ${n(r.log.segments, "loaded segment")}.`);
    if ((r.log.waiting || []).length) {
      const many = r.log.waiting.length;
      lines.push(`${n(many, "log segment")} ${many === 1 ? "was" : "were"} still being written or loaded; the workers were asked to start new ones. ` +
        "Without keep_log they are deleted once loaded; with keep_log, forget again once they are loaded.");
    }
  }
  if (r.dead_letters) lines.push(`Dead letters: ${n(r.dead_letters, "line")} scrubbed.`);
  return lines;
}

// The person is gone: their ids, timeline and orders leave the page (and the address),
// what was done stays.
function forgotten(section, d, report, input) {
  fill(section,
    h("h2", {}, "Person forgotten", session.property ? "" : ` (${d.property})`),
    h("div", { class: "ok-box", role: "status" }, forgetSummary(report).map((line) => h("p", {}, line))),
    h("p", { class: "muted" }, "Their events stay, anonymised under a random id, so counts do not change."));
  if (input) input.value = "";
  history.replaceState(null, "", "#/people");
}

function actions(d, users, done) {
  const out = h("div", { "aria-live": "polite" });
  if (!users.length) {
    return h("p", { class: "muted" }, "Subject export and forget need a user id (or an email): this person has none yet. `trackway forget --email` works from the server.");
  }
  const user = users[0];
  const exportButton = h("button", { type: "button", class: "quiet" }, "Subject export (JSON)");
  exportButton.addEventListener("click", async () => {
    try {
      const data = await api(`/api/subject?${new URLSearchParams({ user, property: d.property })}`);
      download(`subject-${d.property}-${user}.json`, JSON.stringify(data, null, 2), "application/json");
    } catch (err) {
      fill(out, errorBox(err));
    }
  });
  const forgetButton = h("button", { type: "button", class: "danger" }, "Forget…");
  forgetButton.addEventListener("click", () => confirmForget(d, user, out, done));
  return h("div", { class: "row" }, exportButton, forgetButton, out);
}

function confirmForget(d, user, out, done) {
  const typed = h("input", { name: "confirm", autocomplete: "off", "aria-label": "Type the user id to confirm" });
  const go = h("button", { type: "submit", class: "danger" }, "Forget this person");
  const cancel = h("button", { type: "button", class: "quiet" }, "Cancel");
  const dialog = h("dialog", { "aria-labelledby": "forget-title" },
    h("form", { method: "dialog" },
      h("h2", { id: "forget-title" }, "Forget this person?"),
      h("p", {}, `Their identifiers and traits are erased from every table of ${d.property}, and the store file is rewritten. This cannot be undone. Type `, h("code", {}, user), " to confirm."),
      typed, h("p", { class: "row" }, go, cancel)));
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  dialog.querySelector("form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (typed.value !== user) {
      typed.setCustomValidity("Type the user id exactly");
      typed.reportValidity();
      return;
    }
    go.disabled = true;
    try {
      done(await api("/api/forget", { method: "POST", body: { user, property: d.property } }));
    } catch (err) {
      fill(out, errorBox(err));
    }
    dialog.close();
  });
  typed.addEventListener("input", () => typed.setCustomValidity(""));
  document.body.append(dialog);
  dialog.showModal();
  typed.focus();
}
