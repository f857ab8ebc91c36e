// Log in and register.

import { logIn, register } from "../api.js";
import { busy, errorLine, field, formError, h } from "../dom.js";

function credentials(withName) {
  const inputs = {
    email: h("input", { type: "email", name: "email", autocomplete: "email", required: true, maxlength: 254 }),
    password: h("input", {
      type: "password", name: "password", required: true, minlength: withName ? 10 : 1, maxlength: 1024,
      autocomplete: withName ? "new-password" : "current-password",
    }),
  };
  if (withName) inputs.name = h("input", { type: "text", name: "name", autocomplete: "name", maxlength: 100 });
  return inputs;
}

export function loginView(main, { onSignedIn, notice }) {
  const inputs = credentials(false);
  const submit = h("button", { type: "submit", class: "button" }, "Log in");
  const form = h("form", { class: "card auth", "aria-labelledby": "login-title", novalidate: false },
    h("h1", { id: "login-title" }, "Log in"),
    notice ? h("p", { class: "notice", role: "status" }, notice) : null,
    field("Email", inputs.email),
    field("Password", inputs.password),
    errorLine(),
    h("div", { class: "actions" }, submit, h("a", { href: "#/register" }, "Create an account")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    busy(submit, true);
    formError(form, null);
    try {
      await logIn(inputs.email.value.trim(), inputs.password.value);
      onSignedIn();
    } catch (error) {
      formError(form, error);
    } finally {
      busy(submit, false);
    }
  });
  main.replaceChildren(h("section", { class: "auth-wrap" }, intro(), form));
  inputs.email.focus();
}

export function registerView(main, { onSignedIn }) {
  const inputs = credentials(true);
  const submit = h("button", { type: "submit", class: "button" }, "Create account");
  const form = h("form", { class: "card auth", "aria-labelledby": "register-title" },
    h("h1", { id: "register-title" }, "Create an account"),
    field("Name (optional)", inputs.name),
    field("Email", inputs.email),
    field("Password", inputs.password, "At least 10 characters."),
    errorLine(),
    h("div", { class: "actions" }, submit, h("a", { href: "#/login" }, "I have an account")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    busy(submit, true);
    formError(form, null);
    try {
      await register(inputs.email.value.trim(), inputs.password.value, inputs.name.value.trim());
      await logIn(inputs.email.value.trim(), inputs.password.value);
      onSignedIn();
    } catch (error) {
      formError(form, error);
    } finally {
      busy(submit, false);
    }
  });
  main.replaceChildren(h("section", { class: "auth-wrap" }, intro(), form));
  inputs.name.focus();
}

function intro() {
  return h("div", { class: "intro" },
    h("p", { class: "eyebrow" }, "WhatsApp Gateway"),
    h("p", { class: "lead" }, "Connect a WhatsApp number by scanning a QR code, then send and receive messages "
      + "through the HTTP API, webhooks and live events."));
}
