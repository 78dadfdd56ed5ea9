// The public placement API, called with the operator's token. Nothing else.

import { byName } from "./ui.js";

// The version the console is written against, pinned as any client pins it:
// a newer server keeps answering it the same way.
export const VERSION = "placement 1.39";
const ROOT = new URL("../", document.baseURI);

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let token = "";

export function setToken(value) {
  token = value;
}

export function getToken() {
  return token;
}

export function url(path) {
  return new URL(path.replace(/^\//, ""), ROOT).toString();
}

export async function get(path) {
  const response = await fetch(url(path), {
    headers: {
      "X-Auth-Token": token,
      "OpenStack-API-Version": VERSION,
      Accept: "application/json",
    },
  });
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body && body.errors && body.errors[0];
    const detail = error ? error.detail || error.title : text.slice(0, 200);
    throw new ApiError(response.status, `${response.status}: ${detail}`, error && error.code);
  }
  return body;
}

// Run fn over items with at most `width` calls in flight; onEach(done) after each.
export async function pool(items, width, fn, onEach) {
  let next = 0;
  let done = 0;
  const results = new Array(items.length);
  async function worker() {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
      done += 1;
      if (onEach) onEach(done);
    }
  }
  const workers = [];
  for (let i = 0; i < Math.min(width, items.length); i++) workers.push(worker());
  await Promise.all(workers);
  return results;
}

// The provider list is read once per token and shared by every view.
let providerCache = null;

export function forgetProviders() {
  providerCache = null;
}

export async function providers() {
  if (!providerCache) {
    providerCache = get("/resource_providers").then((body) => index(body.resource_providers));
    providerCache.catch(() => {
      providerCache = null;
    });
  }
  return providerCache;
}

function index(list) {
  const byUuid = new Map();
  const children = new Map();
  for (const p of list) {
    byUuid.set(p.uuid, p);
    children.set(p.uuid, []);
  }
  const roots = [];
  for (const p of list) {
    if (p.parent_provider_uuid && children.has(p.parent_provider_uuid)) {
      children.get(p.parent_provider_uuid).push(p);
    } else {
      roots.push(p);
    }
  }
  roots.sort(byName);
  for (const kids of children.values()) kids.sort(byName);
  return { list, byUuid, children, roots };
}

// Placement's capacity of one inventory: (total - reserved) x allocation_ratio, truncated.
export function capacity(inv) {
  return Math.floor((inv.total - inv.reserved) * inv.allocation_ratio);
}

// Everything the tree view shows about one provider (four calls).
export async function details(uuid) {
  const base = `/resource_providers/${uuid}`;
  const [inv, use, traits, aggs] = await Promise.all([
    get(`${base}/inventories`),
    get(`${base}/usages`),
    get(`${base}/traits`),
    get(`${base}/aggregates`),
  ]);
  return {
    inventories: inv.inventories,
    usages: use.usages,
    traits: traits.traits,
    aggregates: aggs.aggregates,
    generation: inv.resource_provider_generation,
  };
}
