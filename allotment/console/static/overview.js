// Overview: capacity, usage and free space per resource class across the cloud.
//
// The public API has no cloud-wide usage call. The overview therefore reads:
// 1. together, the provider list (the counts: the first paint),
//    GET /allocation_candidates?resources=VCPU:1, whose provider summaries
//    give placement's own capacity and usage of every class of every
//    provider in every tree with room for one VCPU (all of nova's computes
//    but the full ones); meanwhile the sharing providers (in no VCPU
//    candidate's tree) are listed and read one by one;
// 2. only when many providers are left uncovered, the same query for the
//    other classes (nova's first) until few are;
// 3. the providers no summary covered (full, without inventory, sharing
//    providers, classes no query can ask one unit of) one by one. Until
//    then the class table, the fullest providers and the providers without
//    inventory are not shown: partial sums would be wrong numbers;
// 4. every provider's allocations and aggregates, in bounded parallel
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
const SHARES = "MISC_SHARES_VIA_AGGREGATE";

function startScan() {
  const state = {
    listed: api.providers(),
    index: null, // the provider list, once read
    phase: "classes", // then "capacity" (waiting for a click), "counts", "complete"
    exact: false, // class totals, fullest and empty providers are exact
    done: false,
    summaries: new Map(), // provider uuid -> {rc: {capacity, used}}
    counted: 0,
    consumers: new Set(),
    aggregates: new Set(),
    listeners: new Set(),
    started: performance.now(),
    classesAt: 0,
    elapsed: 0,
    failed: false,
  };
  state.promise = (async () => {
    await scanClasses(state);
    state.exact = true;
    state.classesAt = performance.now() - state.started;
    state.phase = "capacity";
    if (state.index.list.length <= AUTO_COUNT) await countAll(state);
    else notify(state, true);
  })();
  state.promise.catch(() => {
    state.failed = true; // the next visit starts again
  });
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
      performance.mark("overview:complete");
    });
  return state.counting;
}

function uncovered(state) {
  return state.index.list.filter((p) => !state.summaries.has(p.uuid));
}

// The provider summaries of GET /allocation_candidates?resources=RC:1 (and `more`):
// placement's own capacity and usage of every class of every provider in every
// tree with room for one unit of RC. False when the token may not ask for candidates.
async function summarise(state, rc, more = "") {
  let body;
  try {
    body = await api.get(`/allocation_candidates?resources=${rc}:1${more}`);
  } catch (error) {
    if (error.status === 403) return false; // not allowed to ask: read every provider instead
    throw error;
  }
  for (const [uuid, summary] of Object.entries(body.provider_summaries)) {
    if (!state.summaries.has(uuid)) state.summaries.set(uuid, summary.resources);
  }
  return true;
}

async function scanClasses(state) {
  // The provider list and the first class's candidates are asked together (two
  // bulk reads, often on two workers); meanwhile the sharing providers, in no
  // VCPU candidate's tree, are read one by one. The counts show once the list is in.
  const asked = summarise(state, FIRST[0]);
  const shared = readSharing(state);
  for (const p of [asked, shared]) p.catch(() => {}); // rethrown below unless the list failed
  state.index = await state.listed;
  notify(state, true);
  performance.mark("overview:counts");
  const [allowed] = await Promise.all([asked, shared]);
  if (allowed && uncovered(state).length > ENOUGH) {
    const known = (await api.get("/resource_classes")).resource_classes.map((c) => c.name);
    const rest = [
      ...FIRST.slice(1).filter((c) => known.includes(c)),
      ...known.filter((c) => !FIRST.includes(c)),
    ];
    for (const rc of rest) {
      if (uncovered(state).length <= ENOUGH) break;
      if (!(await summarise(state, rc))) break;
      notify(state);
    }
  }
  // Left: full trees, trees whose classes no query above could ask one unit of
  // (min_unit or step_size above 1), sharing providers no query used, providers
  // without inventory. Read one by one (both calls at once: one round trip).
  await api.pool(
    uncovered(state),
    WIDTH / 2,
    (p) => readProvider(state, p),
    () => notify(state),
  );
}

// The sharing providers (shared storage, address pools), read one by one with
// two requests in flight each (the bulk reads hold two of the six connections).
async function readSharing(state) {
  const sharing = (await api.get(`/resource_providers?required=${SHARES}`)).resource_providers;
  if (sharing.length > ENOUGH) return; // left to the class queries
  await api.pool(sharing, 2, (p) => readProvider(state, p));
}

async function readProvider(state, provider) {
  const base = `/resource_providers/${provider.uuid}`;
  const [inv, use] = await Promise.all([api.get(`${base}/inventories`), api.get(`${base}/usages`)]);
  const resources = {};
  for (const [rc, record] of Object.entries(inv.inventories)) {
    resources[rc] = { capacity: api.capacity(record), used: use.usages[rc] || 0 };
  }
  state.summaries.set(provider.uuid, resources);
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

let pending = null; // a redraw at most every 200 ms while requests complete
function notify(state, now = false) {
  if (now) {
    clearTimeout(pending);
    pending = null;
    for (const fn of state.listeners) fn(state);
    return;
  }
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    for (const fn of state.listeners) fn(state);
  }, 200);
}

export async function render(view, params) {
  // A new provider list (first visit, Reload, another token) means a new scan.
  if (!scan || scan.failed || scan.listed !== api.providers()) scan = startScan();
  const root = h("section", { class: "overview", "data-state": "loading", "aria-busy": "true" });
  view.replaceChildren(h("h1", {}, "Overview"), root);
  const draw = (state) => {
    if (!root.isConnected) {
      state.listeners.delete(draw);
      return;
    }
    if (state.index) drawOverview(root, state, params.get("class"));
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
  root.replaceChildren(
    counts,
    progress(state, n),
    ...(state.exact
      ? exactParts(state, chosen)
      : [h("h2", {}, "Capacity by resource class"), h("p", { class: "muted" }, "…")]),
  );
  if (state.exact && !performance.getEntriesByName("overview:exact").length) {
    performance.mark("overview:exact"); // what tests/browser/measure.py reads
  }
}

function progress(state, n) {
  const muted = (...children) => h("p", { class: "muted" }, ...children);
  const capacityIn = `capacity read in ${fmt(state.classesAt / 1000)} s`;
  switch (state.phase) {
    case "complete":
      return muted(`Read ${fmt(n)} providers in ${fmt(state.elapsed / 1000)} s.`);
    case "capacity":
      return muted(
        `${capacityIn[0].toUpperCase()}${capacityIn.slice(1)}. `,
        h(
          "button",
          { type: "button", id: "count-all", onclick: () => countAll(state) },
          "Count consumers and aggregates",
        ),
        ` (reads every provider's allocations and aggregates: ${fmt(2 * n)} requests)`,
      );
    case "counts":
      return muted(
        h("progress", { max: n, value: state.counted, "aria-label": "providers counted" }),
        ` ${capacityIn}; counting consumers and aggregates: ${fmt(state.counted)} of ${fmt(n)} providers`,
      );
    default:
      // Partial sums would be wrong numbers: only the progress shows until every provider is read.
      return muted(
        h("progress", { max: n, value: state.summaries.size, "aria-label": "providers read" }),
        ` reading capacity: ${fmt(state.summaries.size)} of ${fmt(n)} providers`,
      );
  }
}

// The class table, the fullest providers and the providers without inventory (exact).
function exactParts(state, chosen) {
  const { classes, fullest, empty } = totals(state, chosen);
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
  return [
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
  ];
}

function count(label, value) {
  return h(
    "div",
    { "data-count": label.replace(/ /g, "-") },
    h("dt", {}, label),
    h("dd", {}, typeof value === "number" ? fmt(value) : value),
  );
}
