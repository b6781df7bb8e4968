// Destinations: each one's status, lag and last error, and its dead letters with retry.

import { api, fill, h, query, table, title, when } from "./dom.js";

export async function destinationsPage(main) {
  title(main, "Destinations");
  const out = h("div", {});
  main.append(out);
  const load = async () => {
    const { destinations } = await api(`/api/destinations${query()}`);
    if (!destinations.length) {
      fill(out, h("p", { class: "muted" }, "No destination is declared. Add one with `trackway destination add PROPERTY NAME --type TYPE` (docs/forwarding.md)."));
      return;
    }
    fill(out, ...destinations.map((d) => view(d, load)));
  };
  await load();
}

function retryButton(label, body, after) {
  const button = h("button", { type: "button", class: "quiet" }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    const note = button.parentElement.querySelector(".note") || button.parentElement.appendChild(h("span", { class: "note", role: "status" }));
    try {
      const r = await api("/api/destinations/retry", { method: "POST", body });
      note.textContent = ` ${JSON.stringify(r)}`;
      setTimeout(after, 1500);
    } catch (err) {
      note.textContent = ` ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function letterCell(key, ref, reload) {
  if (key === "n") return (r) => [String(r.n), " ", retryButton("Retry", { destination: ref, letter: r.n }, reload)];
  if (key === "at" || key.endsWith("_at")) return (r) => when(r[key]);
  return undefined;
}

function view(d, reload) {
  const ref = `${d.property}.${d.name}`;
  const facts = Object.entries(d).filter(([k, v]) => !["dead_letters", "property", "name"].includes(k) && (typeof v !== "object" || v === null));
  const letters = d.dead_letters || [];
  return h("section", { class: "panel destination", "data-destination": ref },
    h("h2", {}, ref, " ", h("span", { class: `badge ${d.last_error ? "warning" : "ok"}` }, d.paused ? "paused" : d.last_error ? "errors" : "ok")),
    h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k.replaceAll("_", " ")), h("dd", {}, k.endsWith("_at") ? when(v) : String(v ?? ""))])),
    h("h3", {}, `Dead letters (${d.dead_letter_count ?? letters.length})`),
    letters.length
      ? [
          h("p", {}, retryButton("Retry all", { destination: ref, all: true }, reload)),
          table(Object.keys(letters[0]).map((k) => ({ key: k, render: letterCell(k, ref, reload) })), letters),
        ]
      : h("p", { class: "muted" }, "None."),
  );
}
