// #/login: an API key typed once, traded for a session cookie.

import { ApiError, forgetSession, login, session } from "../api.js";
import { el } from "../ui.js";

export async function render(root, params) {
  document.title = "Log in · faceatlas";
  const next = params.next && params.next.startsWith("#/") && !params.next.startsWith("#/login")
    ? params.next : "#/people";
  const error = el("p", { class: "form-error", id: "login-error", role: "alert",
                          "data-testid": "login-error", hidden: true });
  const input = el("input", { id: "api-key", name: "key", type: "password",
                              autocomplete: "current-password", required: true,
                              spellcheck: "false", "aria-describedby": "login-help login-error",
                              "data-testid": "api-key", placeholder: "fa_…" });
  const button = el("button", { type: "submit", class: "btn btn-primary btn-wide",
                                "data-testid": "login" }, "Log in");
  const form = el("form", { class: "login-form", novalidate: true },
    el("label", { for: "api-key" }, "API key"), input,
    el("p", { class: "hint", id: "login-help" },
       "Create one with ", el("code", {}, "faceatlas keys create NAME --scope admin"),
       ". It is kept in a secure session cookie, never in this page."),
    error, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const key = input.value.trim();
    if (!key) {
      error.textContent = "Type your API key.";
      error.hidden = false;
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = "Logging in…";
    try {
      await login(key);
      forgetSession();
      if (!(await session(true))) {
        throw new ApiError("The browser did not keep the session cookie: open the app on "
          + "http://127.0.0.1 (or localhost) or over https.", 0, "CookieRefused");
      }
      input.value = "";
      location.hash = next;
    } catch (err) {
      error.textContent = err.status === 401 ? "That key is not valid (unknown or revoked)."
        : err.message;
      error.hidden = false;
      button.disabled = false;
      button.textContent = "Log in";
      input.select();
      input.focus();
    }
  });
  const h = el("h1", { tabindex: "-1" }, "Welcome to faceatlas");
  root.append(el("section", { class: "login-card" },
    el("div", { class: "login-mark", "aria-hidden": "true" }),
    h, el("p", { class: "lead" }, "Your photo library's people, on this computer."),
    form));
  input.focus();
}
