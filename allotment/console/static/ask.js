// Ask: build an allocation-candidates query, show the candidates and, when
// there are none, the explanation funnel from GET /allocation_candidates/explain.

import * as api from "./api.js";
import { fmt, h, link, paged, short, table } from "./ui.js";

const FIELDS = ["resources", "required", "member_of", "in_tree"];

export async function render(view, params) {
  const form = h("form", { class: "ask", "aria-label": "allocation candidates query" });
  const groupsBox = h("fieldset", { class: "groups" }, h("legend", {}, "Request groups"));
  const main = FIELDS.map((f) =>
    field(f, "", params.get(f) || "", f === "resources" ? "VCPU:1,MEMORY_MB:512" : ""),
  );
  const suffixes = [
    ...new Set(
      [...params.keys()].map((k) => (k.match(/^resources(.+)$/) || [])[1]).filter(Boolean),
    ),
  ];
  for (const s of suffixes) groupsBox.append(groupRow(s, params));
  const policy = h(
    "select",
    { id: "ask-group_policy", name: "group_policy" },
    ["", "none", "isolate"].map((v) =>
      h("option", { value: v, selected: params.get("group_policy") === v }, v || "(unset)"),
    ),
  );
  const limit = h("input", {
    id: "ask-limit",
    name: "limit",
    type: "number",
    min: 1,
    value: params.get("limit") || "50",
  });
  form.append(
    h(
      "div",
      { class: "grid" },
      main,
      label("ask-group_policy", "group_policy", policy),
      label("ask-limit", "limit", limit),
    ),
    groupsBox,
    h(
      "button",
      {
        type: "button",
        onclick: () =>
          groupsBox.append(
            groupRow(
              String(groupsBox.querySelectorAll(".group").length + 1),
              new URLSearchParams(),
            ),
          ),
      },
      "Add group",
    ),
    " ",
    h("button", { type: "submit", class: "primary" }, "Ask"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/ask?${query(form).toString()}`;
  });
  const out = h("section", { class: "answer", "aria-live": "polite" });
  view.replaceChildren(h("h1", {}, "Ask"), form, out);
  const q = query(form);
  if (q.get("resources") || [...q.keys()].some((k) => k.startsWith("resources")))
    await answer(out, q);
}

function label(id, text, control) {
  return h("div", { class: "field" }, h("label", { for: id }, text), control);
}

function field(name, suffix, value, placeholder) {
  const id = `ask-${name}${suffix ? "-" + suffix : ""}`;
  return label(
    id,
    name + suffix,
    h("input", { id, name: name + suffix, value, placeholder, spellcheck: "false" }),
  );
}

function groupRow(suffix, params) {
  const row = h("div", { class: "group grid", "data-suffix": suffix });
  row.append(
    h("span", { class: "muted" }, `group ${suffix}`),
    ["resources", "required", "member_of"].map((f) =>
      field(f, suffix, params.get(f + suffix) || "", ""),
    ),
    h(
      "button",
      {
        type: "button",
        class: "small",
        onclick: () => row.remove(),
        "aria-label": `remove group ${suffix}`,
      },
      "remove",
    ),
  );
  return row;
}

function query(form) {
  const q = new URLSearchParams();
  for (const input of form.querySelectorAll("input, select")) {
    const value = input.value.trim();
    if (value) q.set(input.name, value);
  }
  return q;
}

async function answer(out, q) {
  out.dataset.state = "loading";
  out.replaceChildren(h("p", { class: "muted" }, "asking…"));
  const [body, index] = await Promise.all([
    api.get(`/allocation_candidates?${q}`),
    api.providers(),
  ]);
  const requests = body.allocation_requests;
  const name = (uuid) => (index.byUuid.get(uuid) || {}).name || short(uuid);
  const rows = requests.map((r, i) =>
    h(
      "tr",
      {},
      h("td", { class: "num" }, String(i + 1)),
      h(
        "td",
        {},
        Object.entries(r.allocations).map(([rp, a]) =>
          h(
            "div",
            {},
            link(`#/tree/${rp}`, name(rp)),
            ": ",
            Object.entries(a.resources)
              .map(([rc, n]) => `${rc} ${fmt(n)}`)
              .join(", "),
          ),
        ),
      ),
      h(
        "td",
        { class: "muted" },
        r.mappings
          ? Object.entries(r.mappings)
              .map(([g, rps]) => `${g || "(unsuffixed)"} → ${rps.map(name).join(", ")}`)
              .join("; ")
          : "",
      ),
    ),
  );
  const summary = h(
    "p",
    { class: "count", "data-count": requests.length },
    `${fmt(requests.length)} candidates from ${fmt(Object.keys(body.provider_summaries).length)} providers`,
  );
  const explainBox = h("div", { class: "explain" });
  const explainButton = h(
    "button",
    { type: "button", onclick: () => explain(explainBox, q, index) },
    "Explain",
  );
  out.replaceChildren(
    summary,
    requests.length
      ? paged(
          rows,
          25,
          (r) => r,
          "candidates",
          (page) => table(["#", "allocations", "mappings"], page),
        )
      : "",
    explainButton,
    explainBox,
  );
  out.dataset.state = "done";
  out.dataset.count = String(requests.length);
  if (!requests.length) await explain(explainBox, q, index);
}

async function explain(box, q, index) {
  box.dataset.state = "loading";
  box.replaceChildren(h("p", { class: "muted" }, "explaining…"));
  let body;
  try {
    body = await api.get(`/allocation_candidates/explain?${q}`);
  } catch (error) {
    if (error.status === 404) {
      box.replaceChildren(
        h(
          "p",
          { class: "unavailable" },
          "Explanation unavailable: this server has no explain endpoint (GET /allocation_candidates/explain).",
        ),
      );
      box.dataset.state = "unavailable";
      return;
    }
    if (error.status === 403) {
      box.replaceChildren(
        h(
          "p",
          { class: "unavailable" },
          "Explanation not allowed for this token (policy placement:allocation_candidates:explain, admin by default).",
        ),
      );
      box.dataset.state = "forbidden";
      return;
    }
    throw error;
  }
  const parts = [h("h2", {}, "Explanation")];
  const verdict = body.verdict;
  if (verdict) {
    parts.push(
      h(
        "p",
        { class: "verdict", "data-step": verdict.step },
        `${verdict.step}: ${verdict.message || ""}`,
      ),
    );
  }
  if (body.candidates) {
    const c = body.candidates;
    const more = c.complete === false ? " (counting stopped)" : "";
    parts.push(
      h(
        "p",
        { class: "muted" },
        `${fmt(c.returned)} returned of ${fmt(c.before_limit)} before the limit${more}`,
      ),
    );
  }
  const misses = (verdict && verdict.nearest_misses) || body.tree_nearest_misses || [];
  if (misses.length) {
    parts.push(
      h("h3", {}, "Nearest misses (failed only that step)"),
      h(
        "ul",
        { class: "misses" },
        misses.map((m) =>
          h(
            "li",
            {},
            link(
              `#/tree/${m.uuid}`,
              m.name || (index.byUuid.get(m.uuid) || {}).name || short(m.uuid),
            ),
            `: ${(m.lacks || []).join("; ")}`,
          ),
        ),
      ),
    );
  }
  for (const group of body.groups || []) {
    const asked = Object.entries(group.resources || {})
      .map(([rc, n]) => `${rc}:${n}`)
      .join(",");
    parts.push(
      funnel(
        `group ${group.suffix || "(unnumbered)"} ${asked}: providers left after each step`,
        group.funnel || [],
      ),
    );
  }
  if (body.tree_funnel && body.tree_funnel.length)
    parts.push(funnel("trees left after each step", body.tree_funnel));
  box.replaceChildren(...parts);
  box.dataset.state = "done";
}

// A funnel as horizontal bars, each step's remaining count relative to the first.
function funnel(title, steps) {
  const top = Math.max(1, ...steps.map((s) => s.remaining));
  return h(
    "figure",
    { class: "funnel" },
    h("figcaption", {}, title),
    steps.map((s) =>
      h(
        "div",
        { class: "step", "data-step": s.step, "data-remaining": s.remaining },
        h("span", { class: "label" }, s.step),
        h(
          "span",
          { class: "bar", role: "img", "aria-label": `${s.step}: ${s.remaining} remaining` },
          h("span", {
            class: s.remaining ? "used" : "none",
            style: { width: `${((100 * s.remaining) / top).toFixed(1)}%` },
          }),
        ),
        h("span", { class: "nums" }, fmt(s.remaining)),
      ),
    ),
  );
}
