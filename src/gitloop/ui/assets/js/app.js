// The UI's entry point: the route table (address → view module), the nav bar with the user menu,
// and boot (who is logged in, or whether the server lets anonymous requests in).
import { h, clear } from "./dom.js";
import { api, ApiError, loginUrl } from "./api.js";
import { Router } from "./router.js";
import { errorBox, spinner, toast } from "./ui.js";

const ROUTES = [
  { path: "/ui/login", title: "Log in", load: () => import("./views/login.js"), bare: true },
  { path: "/ui/applications", title: "Applications", nav: "applications", load: () => import("./views/applications.js") },
  { path: "/ui/applications/:name", title: "Application", nav: "applications", load: () => import("./views/detail.js") },
  { path: "/ui/pipelineruns", title: "Pipelines", nav: "pipelineruns", load: () => import("./views/pipelines.js") },
  { path: "/ui/pipelineruns/:name", title: "PipelineRun", nav: "pipelineruns", load: () => import("./views/pipelines.js") },
  { path: "/ui/changes", title: "Changes", nav: "changes", load: () => import("./views/changes.js") },
  { path: "/ui/changes/:sha", title: "Change", nav: "changes", load: () => import("./views/changes.js") },
  { path: "/ui/environments", title: "Environments", nav: "environments", load: () => import("./views/environments.js") },
  { path: "/ui/environments/:chain", title: "Environments", nav: "environments", load: () => import("./views/environments.js") },
];

const NAV = [
  ["applications", "/ui/applications", "Applications"],
  ["pipelineruns", "/ui/pipelineruns", "Pipelines"],
  ["changes", "/ui/changes", "Changes"],
  ["environments", "/ui/environments", "Environments"],
];

/** Who uses the UI: {name, loggedIn, anonymous}; null until known. */
let user = null;
let unmount = null;
let rendering = 0;
const permissions = new Map();

/** Whether the user may `action` `resource` `object` (Argo CD's can-i), cached for the page's life. */
function can(resource, action, object = "*") {
  const key = `${resource}/${action}/${object}`;
  if (!permissions.has(key)) {
    const path = `account/can-i/${[resource, action].map(encodeURIComponent).join("/")}/${object.split("/").map(encodeURIComponent).join("/")}`;
    permissions.set(key, api.get(path, {}, { redirect: false }).then((a) => a.value === "yes", () => false));
  }
  return permissions.get(key);
}

/** Learn who is here: a logged-in user, anonymous (the server lets requests without credentials in), or nobody. */
async function whoami() {
  const info = await api.get("session/userinfo");
  if (info.loggedIn) return { name: info.username, loggedIn: true, anonymous: false };
  try {
    await api.get("account/can-i/applications/get/*", {}, { redirect: false });
    return { name: "anonymous", loggedIn: false, anonymous: true };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

async function logout() {
  try {
    await api.del("session");
  } catch (err) {
    toast(`Logout failed: ${err.message}`, "error");
    return;
  }
  user = null;
  permissions.clear();
  router.navigate("/ui/login");
}

function renderNav(active) {
  const nav = document.getElementById("nav");
  clear(nav);
  if (!user) return;
  const links = NAV.map(([key, href, label]) => h("li", {}, h("a", {
    href, class: ["nav-link", key === active && "active"], attrs: { "aria-current": key === active ? "page" : null },
  }, label)));
  const menu = user.loggedIn
    ? h("div", { class: "user-menu" },
      h("span", { class: "user-name", attrs: { "aria-label": `Logged in as ${user.name}` } }, user.name),
      h("button", { type: "button", class: "button button-quiet", onclick: logout }, "Log out"))
    : h("div", { class: "user-menu" }, h("span", { class: "user-name" }, "anonymous"));
  nav.append(
    h("a", { class: "brand", href: "/ui/applications", attrs: { "aria-label": "gitloop home" } }, "gitloop"),
    h("nav", { attrs: { "aria-label": "Main" } }, h("ul", { class: "nav-links" }, links)),
    menu);
}

async function render(route, params, query) {
  const mine = ++rendering;
  if (unmount) { try { unmount(); } catch (err) { console.error(err); } unmount = null; }
  const main = document.getElementById("main");
  clear(main).appendChild(spinner());
  if (!route) {
    router.navigate("/ui/applications", { replace: true });
    return;
  }
  const loading = route.load(); // fetched while who-am-I is asked
  loading.catch(() => {}); // its failure is reported below, once the user is known
  if (!route.bare && !user) {
    try {
      user = await whoami();
    } catch (err) {
      clear(main).appendChild(errorBox(err));
      return;
    }
    if (mine !== rendering) return;
    if (!user) { location.replace(loginUrl()); return; }
  }
  renderNav(route.bare ? null : route.nav);
  document.title = `${route.title}${params.name ? ` ${params.name}` : ""} · gitloop`;
  let view;
  try {
    view = await loading;
  } catch (err) {
    if (mine === rendering) clear(main).appendChild(errorBox(new Error(`The ${route.title} view could not be loaded: ${err.message}`)));
    return;
  }
  if (mine !== rendering) return;
  clear(main);
  const ctx = {
    params, query, user,
    navigate: (target, options) => router.navigate(target, options),
    setQuery: (changes, options) => router.setQuery(changes, options),
    can,
    setUser: (found) => { user = found; permissions.clear(); },
  };
  try {
    const stop = await view.mount(main, ctx);
    if (mine !== rendering) { if (typeof stop === "function") stop(); return; }
    unmount = typeof stop === "function" ? stop : null;
  } catch (err) {
    if (mine === rendering) clear(main).appendChild(errorBox(err));
  }
}

const router = new Router(ROUTES, render);
router.resolve();
