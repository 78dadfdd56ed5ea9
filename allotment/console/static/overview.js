// Overview: capacity, usage and free space per resource class across the cloud.
//
// The public API has no cloud-wide usage call. The overview therefore reads:
// 1. the provider list (counts and trees: the first paint);
// 2. per resource class, GET /allocation_candidates?resources=RC:1, whose
//    provider summaries give placement's own capacity and usage of every
//    class of every provider in every tree with room for one unit (nova's
//    classes first, until few providers are left uncovered); the providers
//    no summary covered (full, without inventory, other classes) are then
//    read one by one (inventories and usages): class totals and the fullest
//    providers are exact from here on;
// 3. every provider's allocations and aggregates, in bounded parallel
//    batches, for the consumer and aggregate counts (on a click above
//    AUTO_COUNT providers: that is two requests per provider).
// The page updates as data arrives; the result is kept for the session.

import * as api from "./api.js";
import { bar, byName, fmt, h, link, paged, short, table } from "./ui.js";

const WIDTH = 6; // requests in flight: a browser's connections per host
let scan = null; // the running or finished scan of this session

export function forget() {
  scan = null;
}

export function aggregates() {
  return scan && scan.done ? [...scan.aggregates].sort() : null;
}

const AUTO_COUNT = 1000; // above this many providers, counting waits for a click
const ENOUGH = 200; // uncovered providers cheaper to read one by one than by another query
// Classes asked for first: those of nova's computes cover most clouds in one query.
const FIRST = ["VCPU", "MEMORY_MB", "DISK_GB", "PCPU"];

function startScan(index) {
  const state = {
    index,
    phase: "classes", // then "capacity" (waiting for a click), "counts", "complete"
    done: false,
    summaries: new Map(), // provider uuid -> {rc: {capacity, used}}
    counted: 0,
    consumers: new Set(),
    aggregates: new Set(),
    listeners: new Set(),
    started: performance.now(),
    classesAt: 0,
    elapsed: 0,
  };
  state.promise = (async () => {
    await scanClasses(state);
    state.classesAt = performance.now() - state.started;
    state.phase = "capacity";
    if (index.list.length <= AUTO_COUNT) await countAll(state);
    else notify(state, true);
  })();
  return state;
}

function countAll(state) {
  if (state.counting) return state.counting;
  state.phase = "counts";
  state.countStarted = performance.now();
  notify(state, true);
  state.counting = api
    .pool(
      state.index.list,
      WIDTH,
      (p) => countOne(state, p),
      () => notify(state),
    )
    .then(() => {
      state.phase = "complete";
      state.done = true;
      state.elapsed = performance.now() - state.started;
      notify(state, true);
    });
  return state.counting;
}

function uncovered(state) {
  return state.index.list.filter((p) => !state.summaries.has(p.uuid));
}

async function scanClasses(state) {
  const known = (await api.get("/resource_classes")).resource_classes.map((c) => c.name);
  const order = [
    ...FIRST.filter((c) => known.includes(c)),
    ...known.filter((c) => !FIRST.includes(c)),
  ];
  try {
    for (const rc of order) {
      if (uncovered(state).length <= ENOUGH) break;
      const body = await api.get(`/allocation_candidates?resources=${rc}:1`);
      for (const [uuid, summary] of Object.entries(body.provider_summaries)) {
        if (!state.summaries.has(uuid)) state.summaries.set(uuid, summary.resources);
      }
      notify(state);
    }
  } catch (error) {
    if (error.status !== 403) throw error; // not allowed to ask: read every provider instead
  }
  await api.pool(
    uncovered(state),
    WIDTH,
    async (p) => {
      const base = `/resource_providers/${p.uuid}`;
      const [inv, use] = await Promise.all([
        api.get(`${base}/inventories`),
        api.get(`${base}/usages`),
      ]);
      const resources = {};
      for (const [rc, record] of Object.entries(inv.inventories)) {
        resources[rc] = { capacity: api.capacity(record), used: use.usages[rc] || 0 };
      }
      state.summaries.set(p.uuid, resources);
    },
    () => notify(state),
  );
}

async function countOne(state, provider) {
  const base = `/resource_providers/${provider.uuid}`;
  const [allocs, aggs] = await Promise.all([
    api.get(`${base}/allocations`),
    api.get(`${base}/aggregates`),
  ]);
  for (const consumer of Object.keys(allocs.allocations)) state.consumers.add(consumer);
  for (const agg of aggs.aggregates) state.aggregates.add(agg);
  state.counted += 1;
}

// Class totals, the fullest providers and the providers without inventory, from the summaries.
function totals(state, chosen) {
  const classes = new Map();
  const fullness = new Map();
  const empty = [];
  for (const p of state.index.list) {
    const resources = state.summaries.get(p.uuid);
    if (!resources) continue;
    const entries = Object.entries(resources);
    if (!entries.length) empty.push(p);
    for (const [rc, r] of entries) {
      const t = classes.get(rc) || { capacity: 0, used: 0, providers: 0 };
      t.capacity += r.capacity;
      t.used += r.used;
      t.providers += 1;
      classes.set(rc, t);
      if (chosen && rc !== chosen) continue;
      const ratio = r.capacity > 0 ? r.used / r.capacity : r.used > 0 ? Infinity : 0;
      const seen = fullness.get(p.uuid);
      if (!seen || ratio > seen.ratio) fullness.set(p.uuid, { provider: p, rc, ratio, ...r });
    }
  }
  const fullest = [...fullness.values()]
    .sort((a, b) => b.ratio - a.ratio || b.used - a.used)
    .slice(0, 10);
  return { classes, fullest, empty };
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
  // The provider list first: asked beside it, the heavy candidates request
  // slows the first paint down more than it gains.
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
  root.dataset.state = state.phase;
  root.setAttribute("aria-busy", state.done ? "false" : "true");
  const counts = h(
    "dl",
    { class: "counts" },
    count("providers", n),
    count("root providers", index.roots.length),
    count("consumers", state.done ? state.consumers.size : "…"),
    count("aggregates", state.done ? state.aggregates.size : "…"),
  );
  const { classes, fullest, empty } = totals(state, chosen);
  const progress =
    state.phase === "complete"
      ? h("p", { class: "muted" }, `Read ${fmt(n)} providers in ${fmt(state.elapsed / 1000)} s.`)
      : state.phase === "capacity"
        ? h(
            "p",
            { class: "muted" },
            `Capacity read in ${fmt(state.classesAt / 1000)} s. `,
            h(
              "button",
              { type: "button", id: "count-all", onclick: () => countAll(state) },
              "Count consumers and aggregates",
            ),
            ` (reads every provider's allocations and aggregates: ${fmt(2 * n)} requests)`,
          )
        : state.phase === "counts"
          ? h(
              "p",
              { class: "muted" },
              h("progress", { max: n, value: state.counted, "aria-label": "providers counted" }),
              ` capacity read in ${fmt(state.classesAt / 1000)} s; counting consumers and aggregates: ${fmt(state.counted)} of ${fmt(n)} providers`,
            )
          : h(
              "p",
              { class: "muted" },
              h("progress", {
                max: n,
                value: state.summaries.size,
                "aria-label": "providers read",
              }),
              ` reading capacity: ${fmt(state.summaries.size)} of ${fmt(n)} providers`,
            );
  const classRows = [...classes.entries()]
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
  root.replaceChildren(
    counts,
    progress,
    h("h2", {}, "Capacity by resource class"),
    h(
      "p",
      { class: "muted" },
      "capacity = (total - reserved) x allocation_ratio, summed over providers",
    ),
    table(["class", "capacity", "used", "free", "", "providers"], classRows),
    h("h2", {}, chosen ? `Fullest providers by ${chosen}` : "Fullest providers"),
    chosen ? h("p", {}, link("#/overview", "all classes")) : "",
    h(
      "ol",
      { class: "fullest" },
      fullest.map((f) =>
        h(
          "li",
          {},
          link(`#/tree/${f.provider.uuid}`, f.provider.name),
          " ",
          h("span", { class: "muted" }, `${fmt(100 * Math.min(f.ratio, 9.99))}%`),
          bar(f.rc, { total: f.capacity, reserved: 0, allocation_ratio: 1 }, f.used),
        ),
      ),
    ),
    h("h2", {}, `Providers without inventory (${empty.length})`),
    paged(
      empty.sort(byName),
      20,
      (p) =>
        h(
          "div",
          { class: "row" },
          link(`#/tree/${p.uuid}`, p.name),
          " ",
          h("code", {}, short(p.uuid)),
        ),
      "providers without inventory",
    ),
  );
}

function count(label, value) {
  return h(
    "div",
    { "data-count": label.replace(/ /g, "-") },
    h("dt", {}, label),
    h("dd", {}, typeof value === "number" ? fmt(value) : value),
  );
}
