// The login page: username and password to POST /api/v1/session (the server sets the session and CSRF
// cookies), then back to where the user was going. Never shown when the server lets anonymous requests in.
import { h } from "../dom.js";
import { api, ApiError } from "../api.js";

/** The in-UI address to go to after logging in (only a /ui/ path of this origin: no open redirect). */
function nextOf(query) {
  const next = query.next || "";
  return next.startsWith("/ui/") && !next.startsWith("/ui/login") && !next.startsWith("//") ? next : "/ui/applications";
}

async function alreadyIn() {
  const info = await api.get("session/userinfo");
  if (info.loggedIn) return true;
  try {
    await api.get("account/can-i/applications/get/*", {}, { redirect: false });
    return true; // anonymous access is on: there is nothing to log in to
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return false;
    throw err;
  }
}

export async function mount(root, ctx) {
  const next = nextOf(ctx.query);
  if (await alreadyIn()) {
    ctx.navigate(next, { replace: true });
    return undefined;
  }
  const username = h("input", { id: "login-username", name: "username", class: "input", autocomplete: "username", required: true });
  const password = h("input", { id: "login-password", name: "password", type: "password", class: "input", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "Log in");
  const message = h("div", { class: "login-error", attrs: { role: "alert", "aria-live": "assertive" } });
  let timer = null;

  async function onSubmit(event) {
    event.preventDefault();
    message.textContent = "";
    submit.disabled = true;
    try {
      await api.post("session", { username: username.value, password: password.value }, { redirect: false });
    } catch (err) {
      password.value = "";
      submit.disabled = false;
      if (err instanceof ApiError && err.status === 429) {
        const wait = Number(err.headers.get("Retry-After")) || 1;
        message.textContent = `Too many failed logins: try again in ${wait}s.`;
        submit.disabled = true;
        timer = setTimeout(() => { submit.disabled = false; }, wait * 1000);
      } else {
        message.textContent = err instanceof ApiError && err.status === 401 ? "Invalid username or password." : `Login failed: ${err.message}`;
      }
      password.focus();
      return;
    }
    ctx.setUser(null);
    ctx.navigate(next, { replace: true });
  }

  root.appendChild(h("section", { class: "login" },
    h("h1", { class: "login-title" }, "gitloop"),
    h("p", { class: "login-lead" }, "Log in to see Applications, pipeline runs and the changes that connect them."),
    h("form", { class: "login-form", onsubmit: onSubmit, attrs: { "aria-label": "Log in" } },
      h("label", { for: "login-username" }, "Username"), username,
      h("label", { for: "login-password" }, "Password"), password,
      message, submit)));
  username.focus();
  return () => clearTimeout(timer);
}
