// Consumer: its allocations across providers, project, user, type and generation.

import * as api from "./api.js";
import { fmt, h, link, lookupForm, short, table } from "./ui.js";

export async function render(view, params, uuid) {
  const form = lookupForm("consumer", uuid);
  view.replaceChildren(h("h1", {}, "Consumer"), form);
  if (!uuid) {
    view.append(
      h(
        "p",
        { class: "muted" },
        "Enter a consumer uuid, or follow a consumer link from a provider in the tree.",
      ),
    );
    return;
  }
  const [body, index] = await Promise.all([
    api.get(`/allocations/${encodeURIComponent(uuid)}`),
    api.providers(),
  ]);
  const entries = Object.entries(body.allocations || {});
  const section = h("section", { class: "consumer", "data-uuid": uuid });
  if (!entries.length) {
    section.append(h("p", {}, "This consumer has no allocations."));
    view.append(section);
    return;
  }
  const rows = [];
  for (const [rp, entry] of entries) {
    const p = index.byUuid.get(rp);
    for (const [rc, amount] of Object.entries(entry.resources)) {
      rows.push(
        h(
          "tr",
          { "data-provider": rp, "data-rc": rc },
          h("td", {}, link(`#/tree/${rp}`, p ? p.name : short(rp))),
          h("td", {}, rc),
          h("td", { class: "num" }, fmt(amount)),
          h("td", { class: "num" }, String(entry.generation)),
        ),
      );
    }
  }
  section.append(
    h(
      "dl",
      { class: "facts" },
      fact("project", body.project_id),
      fact("user", body.user_id),
      fact("consumer type", body.consumer_type || "—"),
      fact("generation", body.consumer_generation),
      fact("providers", entries.length),
    ),
    table(["provider", "class", "amount", "provider generation"], rows),
  );
  view.append(section);
}

function fact(label, value) {
  return h(
    "div",
    { "data-fact": label.replace(/ /g, "-") },
    h("dt", {}, label),
    h("dd", {}, String(value)),
  );
}
