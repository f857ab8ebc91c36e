// Small DOM helpers: elements are built with h(), never from HTML strings, so no data is ever
// interpreted as markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Screen readers hear status changes through one polite live region.
export function announce(text) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

export function showError(error) {
  const banner = document.getElementById("banner");
  banner.textContent = error ? describe(error) : "";
  banner.hidden = !error;
}

export function describe(error) {
  if (!error) return "";
  const details = error.details && typeof error.details === "object" ? complaints(error.details).join("; ") : "";
  return details ? `${error.message} (${details})` : (error.message || String(error));
}

// A nested body's complaints name their field by its path: {pacing: {min_gap_seconds: [...]}} ->
// "pacing.min_gap_seconds: ...".
function complaints(details, path = "") {
  return Object.entries(details).flatMap(([name, value]) => {
    const field = path ? `${path}.${name}` : name;
    if (value && typeof value === "object" && !Array.isArray(value)) return complaints(value, field);
    return [`${field}: ${[].concat(value).join(", ")}`];
  });
}

// A form's inline error line: set it, and point the form at it for assistive technology.
export function formError(form, error) {
  const line = form.querySelector(".form-error");
  line.textContent = error ? describe(error) : "";
  line.hidden = !error;
  if (error) line.focus();
}

export function busy(button, on) {
  button.disabled = on;
  button.setAttribute("aria-busy", on ? "true" : "false");
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintEl = hint ? h("small", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl);
}

export function errorLine() {
  return h("p", { class: "form-error", role: "alert", tabindex: "-1", hidden: true });
}

export function time(value) {
  if (!value) return "";
  const date = new Date(value);
  return h("time", { datetime: date.toISOString(), title: date.toISOString() },
    date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }));
}

export function statusBadge(status, extra = {}) {
  const value = String(status || "UNKNOWN");
  return h("span", { class: "badge", "data-status": value.toLowerCase(), ...extra }, value.replace(/_/g, " "));
}

export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission (plain http, or a test browser): select the text for a manual copy.
    const target = button.closest(".secret")?.querySelector("code");
    if (target) window.getSelection().selectAllChildren(target);
  }
  const label = button.textContent;
  button.textContent = "Copied";
  announce("Copied to the clipboard");
  setTimeout(() => { button.textContent = label; }, 1500);
}
