// Aggregate: its member providers, and which of them share resources through it.

import * as api from "./api.js";
import { aggregates } from "./overview.js";
import { byName, h, link, lookupForm, paged, short } from "./ui.js";

const SHARES = "MISC_SHARES_VIA_AGGREGATE";

export async function render(view, params, uuid) {
  const form = lookupForm("aggregate", uuid);
  view.replaceChildren(h("h1", {}, "Aggregate"), form);
  if (!uuid) {
    const known = aggregates();
    view.append(
      known
        ? h(
            "div",
            {},
            h("h2", {}, `Aggregates seen by the overview (${known.length})`),
            paged(
              known,
              40,
              (a) => h("div", { class: "row" }, link(`#/aggregate/${a}`, a)),
              "aggregates",
            ),
          )
        : h(
            "p",
            { class: "muted" },
            "Enter an aggregate uuid, or open the overview first to list every aggregate.",
          ),
    );
    return;
  }
  const [members, sharing] = await Promise.all([
    api.get(`/resource_providers?member_of=${encodeURIComponent(uuid)}`),
    api.get(`/resource_providers?member_of=${encodeURIComponent(uuid)}&required=${SHARES}`),
  ]);
  const shares = new Set(sharing.resource_providers.map((p) => p.uuid));
  const list = members.resource_providers.sort(byName);
  view.append(
    h(
      "section",
      { class: "aggregate", "data-uuid": uuid },
      h(
        "dl",
        { class: "facts" },
        h(
          "div",
          { "data-fact": "members" },
          h("dt", {}, "members"),
          h("dd", {}, String(list.length)),
        ),
        h(
          "div",
          { "data-fact": "sharing" },
          h("dt", {}, "sharing providers"),
          h("dd", {}, String(shares.size)),
        ),
      ),
      h("h2", {}, "Sharing providers"),
      shares.size
        ? h(
            "ul",
            {},
            sharing.resource_providers.map((p) => h("li", {}, link(`#/tree/${p.uuid}`, p.name))),
          )
        : h("p", { class: "muted" }, "none"),
      h("h2", {}, "Members"),
      paged(
        list,
        40,
        (p) =>
          h(
            "div",
            { class: "row", "data-member": p.uuid },
            link(`#/tree/${p.uuid}`, p.name),
            " ",
            h("code", {}, short(p.uuid)),
            shares.has(p.uuid) ? h("span", { class: "chip" }, "sharing") : null,
            p.parent_provider_uuid ? h("span", { class: "muted" }, " child") : null,
          ),
        "members",
      ),
    ),
  );
}
