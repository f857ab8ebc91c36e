// The dashboard's entry point: hash routing between the views, and the signed-in frame.
//   #/login  #/register  #/ (instances)  #/sessions/<id> (one instance)

import { loadConfig, logOut, onSignedOut, request, token } from "./api.js";
import { h, showError } from "./dom.js";
import * as realtime from "./realtime.js";
import { loginView, registerView } from "./views/auth.js";
import { sessionView } from "./views/session.js";
import { sessionsView } from "./views/sessions.js";

const main = document.getElementById("main");
let user = null;
let cleanup = null;
let notice = null;

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  showError(null);
  const hash = location.hash || "#/";
  document.title = "WhatsApp Gateway · Dashboard";
  if (!token()) {
    showAccount(null);
    const options = { onSignedIn: () => { user = null; navigate("#/"); }, notice };
    notice = null;
    if (hash === "#/register") registerView(main, options);
    else loginView(main, options);
    return;
  }
  if (hash === "#/login" || hash === "#/register") { navigate("#/"); return; }
  try {
    if (!user) user = (await request("GET", "/users/me")).user;
    showAccount(user);
    realtime.connect();
    const match = hash.match(/^#\/sessions\/([A-Za-z0-9_-]{1,64})$/);
    cleanup = match ? await sessionView(main, { sessionId: match[1], navigate })
      : await sessionsView(main, { user });
    const heading = main.querySelector("h1");
    if (heading && !main.contains(document.activeElement)) { heading.tabIndex = -1; heading.focus(); }
  } catch (error) {
    if (!token()) return; // signed out by the request: the login view is already shown
    main.replaceChildren(h("section", { class: "card" }, h("h1", {}, error.status === 404 ? "Not found" : "Something went wrong"),
      h("p", {}, error.message), h("p", {}, h("a", { href: "#/" }, "Back to the instances"))));
  }
}

function showAccount(current) {
  document.getElementById("account").hidden = !current;
  document.getElementById("who").textContent = current ? `${current.name || current.email} · ${current.tier}` : "";
}

onSignedOut((reason) => {
  user = null;
  realtime.disconnect();
  notice = reason || null;
  navigate("#/login");
});

document.getElementById("logout").addEventListener("click", () => logOut());
document.querySelector("[data-skip]").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", route);

loadConfig().then(route, (error) => showError(error));
