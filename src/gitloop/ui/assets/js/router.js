// The history-API router: a route table of path patterns (":name" segments) to view modules, clicks
// on same-origin <a href="/ui/..."> intercepted, back/forward re-rendering the view the address names.

function compile(pattern) {
  const names = [];
  const source = pattern.replace(/:([a-zA-Z]+)/g, (_, name) => { names.push(name); return "([^/]+)"; });
  return { regex: new RegExp(`^${source}/?$`), names };
}

export class Router {
  /** routes: [{path: "/ui/applications/:name", load: () => import(...), title}], render(route, params, query) */
  constructor(routes, render) {
    this.routes = routes.map((route) => ({ ...route, ...compile(route.path) }));
    this.render = render;
    addEventListener("popstate", () => this.resolve());
    document.addEventListener("click", (event) => this.intercept(event));
  }

  match(pathname) {
    for (const route of this.routes) {
      const found = route.regex.exec(pathname);
      if (found) {
        const params = {};
        route.names.forEach((name, i) => { params[name] = decodeURIComponent(found[i + 1]); });
        return { route, params };
      }
    }
    return null;
  }

  /** Show the view of the current address. */
  resolve() {
    const query = Object.fromEntries(new URLSearchParams(location.search));
    const found = this.match(location.pathname);
    return this.render(found ? found.route : null, found ? found.params : {}, query);
  }

  navigate(target, { replace = false } = {}) {
    const next = new URL(target, location.origin);
    if (next.origin !== location.origin) { location.assign(next.href); return; }
    history[replace ? "replaceState" : "pushState"](null, "", next.pathname + next.search + next.hash);
    this.resolve();
  }

  /** Change the query of the address without re-rendering the view (the view applies it itself). */
  setQuery(changes, { replace = false } = {}) {
    const params = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) params.delete(key);
      else params.set(key, Array.isArray(value) ? value.join(",") : String(value));
    }
    const search = params.toString();
    history[replace ? "replaceState" : "pushState"](null, "", location.pathname + (search ? `?${search}` : ""));
  }

  intercept(event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    const target = new URL(link.href, location.origin);
    if (target.origin !== location.origin || !target.pathname.startsWith("/ui/") || target.pathname.startsWith("/ui/assets/")) return;
    event.preventDefault();
    this.navigate(target.pathname + target.search);
  }
}
