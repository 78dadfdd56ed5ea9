// Overview: capacity, usage and free space per resource class across the cloud.
//
// The public API has no cloud-wide usage call, so the overview reads the
// provider list once (counts and trees at once), then each provider's
// inventories, allocations and aggregates in bounded parallel batches,
// updating the page as they arrive. The result is kept for the session.

import * as api from "./api.js";
import { bar, fmt, h, link, paged, pct, short, table } from "./ui.js";

const WIDTH = 6; // requests in flight: a browser's connections per host
let scan = null; // the running or finished scan of this session

export function forget() {
  scan = null;
}

export function aggregates() {
  return scan && scan.done ? [...scan.aggregates].sort() : null;
}

function startScan(index) {
  const state = {
    index,
    scanned: 0,
    done: false,
    classes: new Map(), // rc -> {capacity, used}
    fullness: [], // {provider, rc, ratio, inv, used}
    empty: [],
    consumers: new Set(),
    aggregates: new Set(),
    listeners: new Set(),
    started: performance.now(),
    elapsed: 0,
  };
  state.promise = api
    .pool(index.list, WIDTH, (p) => scanOne(state, p), () => notify(state))
    .then(() => {
      state.done = true;
      state.elapsed = performance.now() - state.started;
      notify(state, true);
    });
  return state;
}

async function scanOne(state, provider) {
  const base = `/resource_providers/${provider.uuid}`;
  const [inv, allocs, aggs] = await Promise.all([
    api.get(`${base}/inventories`),
    api.get(`${base}/allocations`),
    api.get(`${base}/aggregates`),
  ]);
  const used = {};
  for (const [consumer, entry] of Object.entries(allocs.allocations)) {
    state.consumers.add(consumer);
    for (const [rc, amount] of Object.entries(entry.resources)) used[rc] = (used[rc] || 0) + amount;
  }
  for (const agg of aggs.aggregates) state.aggregates.add(agg);
  const classes = Object.entries(inv.inventories);
  if (!classes.length) state.empty.push(provider);
  for (const [rc, record] of classes) {
    const cap = api.capacity(record);
    const u = used[rc] || 0;
    const total = state.classes.get(rc) || { capacity: 0, used: 0, providers: 0 };
    total.capacity += cap;
    total.used += u;
    total.providers += 1;
    state.classes.set(rc, total);
    state.fullness.push({ provider, rc, ratio: cap > 0 ? u / cap : u > 0 ? Infinity : 0, inv: record, used: u });
  }
  state.scanned += 1;
}

let pending = false;
function notify(state, now = false) {
  if (now) {
    for (const fn of state.listeners) fn(state);
    return;
  }
  if (pending) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    for (const fn of state.listeners) fn(state);
  }, 200);
}

export async function render(view, params) {
  const index = await api.providers();
  if (!scan || scan.index !== index) scan = startScan(index);
  const root = h("section", { class: "overview", "data-state": "loading", "aria-busy": "true" });
  view.replaceChildren(h("h1", {}, "Overview"), root);
  const draw = (state) => {
    if (!root.isConnected) {
      state.listeners.delete(draw);
      return;
    }
    drawOverview(root, state, params.get("class"));
  };
  scan.listeners.add(draw);
  draw(scan);
  return scan.promise;
}

function drawOverview(root, state, chosen) {
  const { index } = state;
  const n = index.list.length;
  root.dataset.state = state.done ? "complete" : "loading";
  root.setAttribute("aria-busy", state.done ? "false" : "true");
  const counts = h(
    "dl",
    { class: "counts" },
    count("providers", n),
    count("root providers", index.roots.length),
    count("consumers", state.done ? state.consumers.size : "…"),
    count("aggregates", state.done ? state.aggregates.size : "…"),
  );
  const progress = state.done
    ? h("p", { class: "muted" }, `Read ${fmt(n)} providers in ${fmt(state.elapsed / 1000)} s.`)
    : h(
        "p",
        { class: "muted" },
        h("progress", { max: n, value: state.scanned, "aria-label": "providers read" }),
        ` reading providers: ${fmt(state.scanned)} of ${fmt(n)}`,
      );
  const classRows = [...state.classes.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([rc, t]) =>
      h(
        "tr",
        { "data-rc": rc },
        h("th", { scope: "row" }, link(`#/overview?class=${rc}`, rc)),
        h("td", { class: "num", "data-field": "capacity" }, fmt(t.capacity)),
        h("td", { class: "num", "data-field": "used" }, fmt(t.used)),
        h("td", { class: "num", "data-field": "free" }, fmt(t.capacity - t.used)),
        h("td", {}, bar(rc, { total: t.capacity, reserved: 0, allocation_ratio: 1 }, t.used)),
        h("td", { class: "num" }, fmt(t.providers)),
      ),
    );
  const fullest = fullestProviders(state, chosen);
  root.replaceChildren(
    counts,
    progress,
    h("h2", {}, "Capacity by resource class"),
    h("p", { class: "muted" }, "capacity = (total - reserved) x allocation_ratio, summed over providers"),
    table(["class", "capacity", "used", "free", "", "providers"], classRows),
    h("h2", {}, chosen ? `Fullest providers by ${chosen}` : "Fullest providers"),
    chosen ? h("p", {}, link("#/overview", "all classes")) : "",
    h("ol", { class: "fullest" }, fullest.map((f) =>
      h(
        "li",
        {},
        link(`#/tree/${f.provider.uuid}`, f.provider.name),
        " ",
        h("span", { class: "muted" }, `${fmt(100 * Math.min(f.ratio, 9.99))}%`),
        bar(f.rc, f.inv, f.used),
      ),
    )),
    h("h2", {}, `Providers without inventory (${state.empty.length})`),
    paged(
      [...state.empty].sort((a, b) => a.name.localeCompare(b.name)),
      20,
      (p) => h("div", { class: "row" }, link(`#/tree/${p.uuid}`, p.name), " ", h("code", {}, short(p.uuid))),
      "providers without inventory",
    ),
  );
}

function fullestProviders(state, chosen) {
  const best = new Map(); // provider uuid -> its fullest class (or the chosen one)
  for (const f of state.fullness) {
    if (chosen && f.rc !== chosen) continue;
    const seen = best.get(f.provider.uuid);
    if (!seen || f.ratio > seen.ratio) best.set(f.provider.uuid, f);
  }
  return [...best.values()].sort((a, b) => b.ratio - a.ratio || pct(b.used, 1) - pct(a.used, 1)).slice(0, 10);
}

function count(label, value) {
  return h("div", { "data-count": label.replace(/ /g, "-") }, h("dt", {}, label), h("dd", {}, typeof value === "number" ? fmt(value) : value));
}
