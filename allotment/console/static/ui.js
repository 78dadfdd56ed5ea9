// Small DOM helpers: elements are built, never parsed from strings.

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "style")
      Object.assign(node.style, value); // CSSOM: allowed by the CSP
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// One collator for every sort: localeCompare with options builds one per call,
// which takes seconds over thousands of provider names.
const collator = new Intl.Collator("en", { numeric: true });
export const byName = (a, b) => collator.compare(a.name, b.name);

export function fmt(n) {
  return Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 });
}

export function pct(used, cap) {
  return cap > 0 ? (100 * used) / cap : 0;
}

export function status(message, kind = "error") {
  const box = document.getElementById("status");
  box.replaceChildren();
  if (message) box.append(h("p", { class: kind }, message));
}

// One inventory as a bar: used | reserved | free, scaled to total x allocation_ratio.
export function bar(rc, inv, used) {
  const whole = inv.total * inv.allocation_ratio || 1;
  const reserved = inv.reserved * inv.allocation_ratio;
  const cap = Math.floor((inv.total - inv.reserved) * inv.allocation_ratio);
  const free = Math.max(cap - used, 0);
  const w = (x) => ({ width: `${Math.max(0, Math.min(100, (100 * x) / whole)).toFixed(1)}%` });
  return h(
    "div",
    { class: "inv", "data-rc": rc },
    h("span", { class: "rc" }, rc),
    h(
      "span",
      {
        class: "bar",
        role: "img",
        "aria-label": `${rc}: ${used} used, ${inv.reserved} reserved, ${free} free of ${cap}`,
      },
      h("span", { class: "used", style: w(used) }),
      h("span", { class: "reserved", style: w(reserved) }),
    ),
    h(
      "span",
      { class: "nums" },
      `${fmt(used)} / ${fmt(cap)}`,
      inv.reserved ? ` (reserved ${fmt(inv.reserved)})` : "",
    ),
  );
}

// A paged list: renderItem for each item of the page shown; `wrap(children)`
// builds the page's container (default: a div). Returns the whole box.
export function paged(items, size, renderItem, label, wrap) {
  const box = h("div", { class: "paged" });
  let page = 0;
  const pages = Math.max(1, Math.ceil(items.length / size));
  function draw() {
    const slice = items.slice(page * size, (page + 1) * size);
    const prev = h(
      "button",
      { type: "button", disabled: page === 0, onclick: () => go(-1) },
      "Previous",
    );
    const next = h(
      "button",
      { type: "button", disabled: page >= pages - 1, onclick: () => go(1) },
      "Next",
    );
    const pager =
      pages > 1
        ? h(
            "div",
            { class: "pager" },
            prev,
            h("span", {}, `page ${page + 1} of ${pages} (${items.length})`),
            next,
          )
        : "";
    box.replaceChildren(
      wrap
        ? wrap(slice.map(renderItem))
        : h("div", { class: "items", "aria-label": label }, slice.map(renderItem)),
      pager,
    );
  }
  function go(delta) {
    page = Math.min(Math.max(page + delta, 0), pages - 1);
    draw();
  }
  draw();
  return box;
}

export function table(headers, rows) {
  return h(
    "table",
    {},
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((x) => h("th", { scope: "col" }, x)),
      ),
    ),
    h("tbody", {}, rows),
  );
}

export function link(href, text) {
  return h("a", { href }, text);
}

export function short(uuid) {
  return uuid ? uuid.slice(0, 8) : "";
}

// The uuid box of the consumer and aggregate views: submitting opens `#/<view>/<uuid>`.
export function lookupForm(view, uuid) {
  const input = h("input", {
    type: "search",
    id: `${view}-uuid`,
    value: uuid || "",
    placeholder: `${view} uuid`,
    "aria-label": `${view} uuid`,
    size: 40,
  });
  const submit = (event) => {
    event.preventDefault();
    location.hash = `#/${view}/${encodeURIComponent(input.value.trim())}`;
  };
  return h(
    "form",
    { class: "search", onsubmit: submit },
    input,
    h("button", { type: "submit" }, "Show"),
  );
}
