// The dashboard's shell: sign-in, navigation, the property choice, and the router
// (#/PAGE/ARGS in the address, so every view has a link and the back button works).

import { ApiError, api, append, clear, errorBox, h, session } from "./dom.js";
import { live } from "./live.js";
import { eventPage } from "./event.js";
import { failedPage } from "./failed.js";
import { validatePage } from "./validate.js";
import { reportsPage } from "./reports.js";
import { peoplePage } from "./people.js";
import { destinationsPage } from "./destinations.js";
import { setupPage } from "./setup.js";

const PAGES = [
  ["live", "Live", live],
  ["failed", "Failed", failedPage],
  ["validate", "Validator", validatePage],
  ["reports", "Reports", reportsPage],
  ["people", "People", peoplePage],
  ["destinations", "Destinations", destinationsPage],
  ["setup", "Setup", setupPage],
];
const HIDDEN = { event: eventPage };

let leave = null; // the current page's clean-up (a live stream to close)
let routed = false; // focus moves to the page on a route change, not on load (Tab first reaches the skip link)

async function start() {
  // A request refused with 401 (signed out in another tab, expired, token changed): why, in the server's words.
  window.addEventListener("tw-signed-out", (e) => signin("Your sign-in has ended; sign in again.", e.detail));
  // A one-time link the server refused comes back here with the reason (server/dashboard.py).
  const refused = location.hash.startsWith("#/signin?")
    ? new URLSearchParams(location.hash.split("?")[1]).get("error")
    : null;
  if (location.hash.startsWith("#/signin")) history.replaceState(null, "", location.pathname);
  try {
    Object.assign(session, await api("/api/session", { signin: false }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signin(refused ? `The sign-in link did not work: ${refused}` : undefined);
    return fail(err);
  }
  const saved = sessionStorage.getItem("tw-property");
  session.property = session.scope === "*" ? (session.properties.includes(saved) ? saved : "") : session.scope;
  chrome();
  window.addEventListener("hashchange", route);
  route();
}

function fail(err) {
  append(clear(document.getElementById("main")), [errorBox(err)]);
}

function signin(message, why) {
  if (leave) leave();
  leave = null;
  clear(document.getElementById("nav"));
  clear(document.getElementById("who"));
  const main = clear(document.getElementById("main"));
  document.title = "Sign in · Trackway";
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "current-password", required: true });
  const out = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "panel signin" },
    h("h1", {}, "Sign in"),
    message ? h("p", { role: "status", class: "ended" }, message) : null,
    why ? h("p", { class: "muted" }, why) : null,
    h("p", { class: "muted" }, "With an admin token: the server's sees every property, a property's only its own. ",
      "`trackway dashboard` on the server prints a one-time sign-in link."),
    h("label", { for: "token" }, "Admin token"),
    input,
    h("p", {}, h("button", { type: "submit" }, "Sign in")),
    out,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(out);
    try {
      await api("/signin", { method: "POST", body: { token: input.value }, signin: false });
      location.hash = location.hash || "#/live";
      location.reload();
    } catch (err) {
      out.append(errorBox(err));
    }
  });
  main.append(form);
  input.focus();
}

function chrome() {
  const nav = clear(document.getElementById("nav"));
  for (const [id, label] of PAGES) nav.append(h("a", { href: `#/${id}`, "data-page": id }, label));
  const who = clear(document.getElementById("who"));
  if (session.scope === "*") {
    const select = h("select", { id: "property", "aria-label": "Property" }, h("option", { value: "" }, "All properties"),
      session.properties.map((p) => h("option", { value: p, selected: p === session.property }, p)));
    select.addEventListener("change", () => {
      session.property = select.value;
      sessionStorage.setItem("tw-property", select.value);
      route();
    });
    who.append(select);
  } else {
    who.append(h("span", {}, "Property ", h("strong", {}, session.scope)));
  }
  const out = h("button", { type: "button", class: "quiet" }, "Sign out");
  out.addEventListener("click", async () => {
    try {
      await api("/signout", { method: "POST", signin: false });
    } finally {
      location.hash = "";
      location.reload();
    }
  });
  who.append(out);
}

async function route() {
  if (leave) leave();
  leave = null;
  const [name, ...args] = (location.hash.replace(/^#\/?/, "").split("?")[0] || "live").split("/").map(decodeURIComponent);
  const page = PAGES.find((p) => p[0] === name);
  const view = page ? page[2] : HIDDEN[name];
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const main = clear(document.getElementById("main"));
  if (!view) {
    main.append(errorBox(`There is no page "${name}"; pick one above.`));
    return;
  }
  try {
    leave = (await view(main, args)) || null;
  } catch (err) {
    main.append(errorBox(err));
  }
  if (routed) main.focus({ preventScroll: true });
  routed = true;
}

start();
