// Destinations: each one's status, lag and last error, and its dead letters with retry.
// A destination with dead letters never looks healthy: its badge and a warning say how
// many and why the latest was refused. A retry's outcome stays on the page, in words.

import { api, fill, h, query, table, title, when } from "./dom.js";

export async function destinationsPage(main) {
  title(main, "Destinations");
  const out = h("div", {});
  main.append(out);
  const outcomes = new Map(); // destination -> the last retry's outcome, kept across reloads
  const load = async () => {
    const { destinations } = await api(`/api/destinations${query()}`);
    if (!destinations.length) {
      fill(out, h("p", { class: "muted" }, "No destination is declared. Add one with `trackway destination add PROPERTY NAME --type TYPE` (docs/forwarding.md)."));
      return;
    }
    fill(out, ...destinations.map((d) => view(d, outcomes, load)));
  };
  await load();
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// A retry's answer ({retried, delivered, failed, errors}) in words.
export function retried(r) {
  const head = `Retried ${plural(r.retried, "dead letter")}: ${r.delivered} delivered` +
    (r.failed ? `, ${r.failed} failed (still listed)` : "") + ".";
  const errors = (r.errors || []).slice(0, 10).map((e) => h("li", {}, `Letter ${e.letter} (${e.outcome}): ${e.error}`));
  const more = (r.errors || []).length > 10 ? h("li", {}, `and ${r.errors.length - 10} more`) : null;
  return [head, errors.length ? h("ul", {}, errors, more) : null];
}

function retryButton(label, ref, body, outcomes, reload) {
  const what = body.all ? "every dead letter" : `dead letter ${body.letter}`;
  const button = h("button", { type: "button", class: "quiet" }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Retrying…";
    try {
      const r = await api("/api/destinations/retry", { method: "POST", body: { destination: ref, ...body } });
      outcomes.set(ref, { ok: r.failed === 0, parts: retried(r) });
    } catch (err) {
      outcomes.set(ref, { ok: false, parts: [`Retrying ${what} failed: ${err.message}`] });
    }
    try {
      await reload();
    } catch (err) {
      outcomes.set(ref, { ok: false, parts: [`Reloading the destinations failed: ${err.message}`] });
    }
  });
  return button;
}

function letterCell(key, ref, outcomes, reload) {
  if (key === "n") return (r) => [String(r.n), " ", retryButton("Retry", ref, { letter: r.n }, outcomes, reload)];
  if (key === "at" || key.endsWith("_at")) return (r) => when(r[key]);
  return undefined;
}

function badges(d, count) {
  const out = [];
  if (d.paused) out.push(h("span", { class: "badge warning" }, "paused"));
  if (d.last_error) out.push(h("span", { class: "badge error" }, "errors"));
  if (count) out.push(h("span", { class: "badge warning", "data-dead-letters": count }, plural(count, "dead letter")));
  if (!out.length) out.push(h("span", { class: "badge ok" }, "ok"));
  return out.flatMap((b) => [" ", b]);
}

function view(d, outcomes, reload) {
  const ref = `${d.property}.${d.name}`;
  const facts = Object.entries(d).filter(([k, v]) => !["dead_letters", "latest_dead_letter", "property", "name"].includes(k) && (typeof v !== "object" || v === null));
  const letters = d.dead_letters || [];
  const count = d.dead_letter_count ?? letters.length;
  const latest = d.latest_dead_letter;
  const outcome = outcomes.get(ref);
  return h("section", { class: "panel destination", "data-destination": ref },
    h("h2", {}, ref, badges(d, count)),
    count
      ? h("p", { class: "warn-box", role: "status" },
          `${plural(count, "dead letter")} not delivered: retry them once the cause is fixed.`,
          latest ? [` The latest, number ${latest.n} at ${when(latest.at)}: `, h("strong", {}, latest.reason || "no reason kept")] : null)
      : null,
    h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k.replaceAll("_", " ")), h("dd", {}, k.endsWith("_at") ? when(v) : String(v ?? ""))])),
    h("h3", {}, `Dead letters (${count})`),
    outcome ? h("div", { class: outcome.ok ? "ok-box retry-outcome" : "warn-box retry-outcome", role: "status" }, outcome.parts) : null,
    letters.length
      ? [
          letters.length < count
            ? h("p", { class: "muted" }, `Showing the oldest ${letters.length} of ${count}; \`trackway destination dead-letters ${ref}\` lists them all. "Retry all" sends all ${count}.`)
            : null,
          h("p", {}, retryButton("Retry all", ref, { all: true }, outcomes, reload)),
          table(Object.keys(letters[0]).map((k) => ({ key: k, render: letterCell(k, ref, outcomes, reload) })), letters),
        ]
      : h("p", { class: "muted" }, "None."),
  );
}
