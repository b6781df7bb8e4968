// Setup: per property, the keys to copy, the tracker tag, a curl per endpoint, and
// whether each endpoint has received anything yet.

import { api, copyButton, h, query, title, when } from "./dom.js";

export async function setupPage(main) {
  title(main, "Setup");
  const { properties } = await api(`/api/setup${query({ base: location.origin })}`);
  for (const p of properties) {
    main.append(
      h("section", { class: "panel", "data-property": p.name },
        h("h2", {}, p.name),
        h("h3", {}, "Keys"),
        h("dl", { class: "facts" }, (p.keys || []).map((k) => [
          h("dt", {}, k.name),
          h("dd", {}, secret(k)),
        ])),
        h("h3", {}, "Browser tracker"),
        h("p", { class: "muted" }, "Add this tag to every page; the site's own dataLayer, gtag, cact and convead calls then reach this collector (docs/tracker.md)."),
        h("pre", {}, p.snippet), copyButton(p.snippet, "Copy the tag"),
        h("h3", {}, "Endpoints"),
        (p.endpoints || []).map((e) =>
          h("details", { "data-endpoint": e.path },
            h("summary", {}, h("code", {}, `${(e.methods || []).join(", ")} ${e.path}`), " ", e.vendor, " ",
              e.received ? h("span", { class: "badge ok" }, `received ${e.received.events ?? 0} valid, ${e.received.failed ?? 0} failed; last ${when(e.received.last)}`) : h("span", { class: "badge warning" }, "nothing received yet")),
            e.curl ? [h("pre", {}, e.curl), copyButton(e.curl, "Copy the curl")] : null,
          ),
        ),
      ),
    );
  }
}

function secret(key) {
  if (!key.secret) return [h("code", {}, key.value), " ", copyButton(key.value)];
  const shown = h("code", {}, "••••••••");
  const reveal = h("button", { type: "button", class: "quiet", "aria-pressed": "false" }, "Show");
  reveal.addEventListener("click", () => {
    const on = reveal.getAttribute("aria-pressed") !== "true";
    shown.textContent = on ? key.value : "••••••••";
    reveal.textContent = on ? "Hide" : "Show";
    reveal.setAttribute("aria-pressed", String(on));
  });
  return [shown, " ", reveal, " ", copyButton(key.value)];
}
