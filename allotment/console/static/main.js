// The console's entry point: the token box and hash routing between views.

import * as api from "./api.js";
import * as aggregate from "./aggregate.js";
import * as ask from "./ask.js";
import * as consumer from "./consumer.js";
import * as overview from "./overview.js";
import * as tree from "./tree.js";
import { h, status } from "./ui.js";

const VIEWS = {
  overview: overview.render,
  tree: tree.render,
  consumer: consumer.render,
  aggregate: aggregate.render,
  ask: ask.render,
};
const KEY = "allotment-console-token";

function initialToken() {
  const saved = sessionStorage.getItem(KEY);
  if (saved) return saved;
  const auth = document.querySelector('meta[name="allotment-auth"]');
  return auth && auth.content === "noauth2" ? "admin" : "";
}

function parse(hash) {
  const text = hash.replace(/^#\/?/, "");
  const [path, search] = text.split("?");
  const [name, arg] = path.split("/");
  return {
    name: VIEWS[name] ? name : "overview",
    arg: arg ? decodeURIComponent(arg) : null,
    params: new URLSearchParams(search || ""),
  };
}

let generation = 0;

async function route() {
  const { name, arg, params } = parse(location.hash);
  const mine = ++generation;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const view = document.getElementById("view");
  view.dataset.view = name;
  status("");
  if (!api.getToken()) {
    view.replaceChildren(
      h("h1", {}, "Token needed"),
      h("p", {}, "Type a token in the box above: the console calls the placement API with it."),
    );
    document.getElementById("token").focus();
    return;
  }
  try {
    await VIEWS[name](view, params, arg);
  } catch (error) {
    if (mine !== generation) return;
    const hint =
      error.status === 401
        ? " (is the token valid?)"
        : error.status === 403
          ? " (the token's roles do not allow this)"
          : "";
    status(`${error.message}${hint}`);
    console.warn("allotment console:", error.message);
  }
}

function main() {
  const input = document.getElementById("token");
  input.value = initialToken();
  api.setToken(input.value);
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    api.setToken(input.value.trim());
    sessionStorage.setItem(KEY, input.value.trim());
    api.forgetProviders();
    overview.forget();
    route();
  });
  // Views share the provider list and the overview's scan for the session: read them again.
  document.getElementById("reload").addEventListener("click", () => {
    api.forgetProviders();
    overview.forget();
    route();
  });
  window.addEventListener("hashchange", route);
  route();
}

main();
