// Provider tree: roots paged, each expandable into its children and the
// sharing providers linked to it through aggregates; details load on expand.

import * as api from "./api.js";
import { bar, fmt, h, link, paged, short } from "./ui.js";

const PAGE = 25;
const SHARES = "MISC_SHARES_VIA_AGGREGATE";

export async function render(view, params, focus) {
  const index = await api.providers();
  const q = (params.get("q") || "").trim();
  const search = h("input", {
    type: "search",
    id: "tree-search",
    value: q,
    placeholder: "name or uuid",
    "aria-label": "search providers by name or uuid",
  });
  const form = h(
    "form",
    {
      class: "search",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        location.hash = `#/tree?q=${encodeURIComponent(search.value.trim())}`;
      },
    },
    search,
    h("button", { type: "submit" }, "Search"),
  );
  let roots = index.roots;
  let caption = `${fmt(index.roots.length)} trees, ${fmt(index.list.length)} providers`;
  if (focus) {
    const target = index.byUuid.get(focus);
    if (!target) throw new api.ApiError(404, `No provider ${focus}`);
    roots = [index.byUuid.get(target.root_provider_uuid) || target];
    caption = `the tree of ${target.name}`;
  } else if (q) {
    const needle = q.toLowerCase();
    const found = new Set();
    for (const p of index.list) {
      if (p.name.toLowerCase().includes(needle) || p.uuid.includes(needle)) {
        found.add(p.root_provider_uuid || p.uuid);
      }
    }
    roots = index.roots.filter((r) => found.has(r.uuid));
    caption = `${fmt(roots.length)} trees match “${q}”`;
  }
  const tree = h("div", {
    class: "tree",
    role: "tree",
    "aria-label": "resource providers",
    onkeydown: keys,
  });
  tree.append(paged(roots, PAGE, (p) => node(index, p, focus), "trees"));
  view.replaceChildren(
    h("h1", {}, "Provider tree"),
    form,
    h("p", { class: "muted" }, caption),
    tree,
  );
  if (focus) await reveal(tree, index, focus);
}

function node(index, provider, focus, sharing = false) {
  const kids = index.children.get(provider.uuid) || [];
  const toggle = h(
    "button",
    {
      type: "button",
      class: "toggle",
      "aria-expanded": "false",
      "aria-label": `${provider.name}: show details`,
      "data-uuid": provider.uuid,
    },
    h("span", { class: "caret", "aria-hidden": "true" }, "▸"),
    " ",
    h("span", { class: "name" }, provider.name),
  );
  const item = h(
    "div",
    {
      role: "treeitem",
      class: sharing ? "node sharing" : "node",
      "data-uuid": provider.uuid,
      "aria-expanded": "false",
    },
    h(
      "div",
      { class: focus === provider.uuid ? "row focus" : "row" },
      toggle,
      " ",
      h("code", { title: provider.uuid }, short(provider.uuid)),
      kids.length ? h("span", { class: "muted" }, ` ${kids.length} children`) : null,
      sharing ? h("span", { class: "chip" }, "sharing") : null,
    ),
  );
  let loaded = false;
  toggle.addEventListener("click", async () => {
    const open = toggle.getAttribute("aria-expanded") === "true";
    if (open) {
      collapse(item);
      return;
    }
    toggle.setAttribute("aria-expanded", "true");
    item.setAttribute("aria-expanded", "true");
    item.querySelector(".caret").textContent = "▾";
    if (loaded) {
      for (const el of item.querySelectorAll(":scope > .details, :scope > [role=group]"))
        el.hidden = false;
      return;
    }
    loaded = true;
    item.dataset.state = "loading";
    try {
      await expand(index, provider, item, focus, sharing);
      item.dataset.state = "ready";
    } catch (error) {
      item.append(h("p", { class: "error" }, error.message));
      item.dataset.state = "error";
      loaded = false;
    }
  });
  return item;
}

function collapse(item) {
  const toggle = item.querySelector(":scope > .row > .toggle");
  toggle.setAttribute("aria-expanded", "false");
  item.setAttribute("aria-expanded", "false");
  item.querySelector(".caret").textContent = "▸";
  for (const el of item.querySelectorAll(":scope > .details, :scope > [role=group]"))
    el.hidden = true;
}

async function expand(index, provider, item, focus, sharing) {
  const d = await api.details(provider.uuid);
  const consumers = h("div", { class: "consumers" });
  const details = h(
    "div",
    { class: "details" },
    h(
      "p",
      { class: "meta" },
      `generation ${d.generation} · uuid `,
      h("code", {}, provider.uuid),
      provider.parent_provider_uuid
        ? [
            " · parent ",
            link(`#/tree/${provider.parent_provider_uuid}`, short(provider.parent_provider_uuid)),
          ]
        : null,
    ),
    Object.keys(d.inventories).length
      ? Object.entries(d.inventories).map(([rc, inv]) => bar(rc, inv, d.usages[rc] || 0))
      : h("p", { class: "muted" }, "no inventory"),
    h(
      "p",
      { class: "chips", "aria-label": "traits" },
      h("span", { class: "muted" }, "traits"),
      d.traits.length
        ? d.traits.sort().map((t) => h("span", { class: "chip" }, t))
        : h("span", {}, "none"),
    ),
    h(
      "p",
      { class: "chips", "aria-label": "aggregates" },
      h("span", { class: "muted" }, "aggregates"),
      d.aggregates.length
        ? d.aggregates.map((a) => link(`#/aggregate/${a}`, short(a)))
        : h("span", {}, "none"),
    ),
    h(
      "button",
      { type: "button", class: "small", onclick: () => showConsumers(provider, consumers) },
      "consumers",
    ),
    consumers,
  );
  item.append(details);
  const group = h("div", { role: "group" });
  for (const child of index.children.get(provider.uuid) || [])
    group.append(node(index, child, focus));
  const isRoot = !provider.parent_provider_uuid;
  if (isRoot && !sharing && d.aggregates.length) {
    const body = await api.get(
      `/resource_providers?member_of=in:${d.aggregates.join(",")}&required=${SHARES}`,
    );
    for (const p of body.resource_providers) {
      if (p.root_provider_uuid === provider.uuid) continue;
      group.append(node(index, index.byUuid.get(p.uuid) || p, focus, true));
    }
  }
  if (group.childElementCount) item.append(group);
}

async function showConsumers(provider, box) {
  box.replaceChildren(h("p", { class: "muted" }, "loading…"));
  try {
    const body = await api.get(`/resource_providers/${provider.uuid}/allocations`);
    const entries = Object.entries(body.allocations);
    box.replaceChildren(
      entries.length
        ? paged(
            entries,
            20,
            ([c, e]) =>
              h(
                "div",
                { class: "row" },
                link(`#/consumer/${c}`, c),
                " ",
                h(
                  "span",
                  { class: "muted" },
                  Object.entries(e.resources)
                    .map(([rc, n]) => `${rc}:${n}`)
                    .join(", "),
                ),
              ),
            "consumers",
          )
        : h("p", { class: "muted" }, "no consumers"),
    );
  } catch (error) {
    box.replaceChildren(h("p", { class: "error" }, error.message));
  }
}

// Open every ancestor of `uuid` and focus its row.
async function reveal(tree, index, uuid) {
  const path = [];
  for (let p = index.byUuid.get(uuid); p; p = index.byUuid.get(p.parent_provider_uuid))
    path.unshift(p);
  for (const p of path) {
    const toggle = tree.querySelector(`.toggle[data-uuid="${p.uuid}"]`);
    if (!toggle) break;
    if (toggle.getAttribute("aria-expanded") !== "true") {
      toggle.click();
      await waitReady(toggle.closest("[role=treeitem]"));
    }
    if (p.uuid === uuid) toggle.focus();
  }
}

function waitReady(item) {
  return new Promise((resolve) => {
    const check = () => (item.dataset.state === "loading" ? setTimeout(check, 20) : resolve());
    check();
  });
}

// Arrow keys move between visible rows; right opens, left closes or goes to the parent.
function keys(event) {
  const current = event.target.closest(".toggle");
  if (!current) return;
  const tree = event.currentTarget;
  const visible = [...tree.querySelectorAll(".toggle")].filter((t) => t.offsetParent !== null);
  const at = visible.indexOf(current);
  const item = current.closest("[role=treeitem]");
  const open = current.getAttribute("aria-expanded") === "true";
  let target = null;
  if (event.key === "ArrowDown") target = visible[at + 1];
  else if (event.key === "ArrowUp") target = visible[at - 1];
  else if (event.key === "Home") target = visible[0];
  else if (event.key === "End") target = visible[visible.length - 1];
  else if (event.key === "ArrowRight" && !open) current.click();
  else if (event.key === "ArrowRight") target = visible[at + 1];
  else if (event.key === "ArrowLeft" && open) collapse(item);
  else if (event.key === "ArrowLeft") {
    const parent = item.parentElement.closest("[role=treeitem]");
    target = parent && parent.querySelector(":scope > .row > .toggle");
  } else return;
  event.preventDefault();
  if (target) target.focus();
}
