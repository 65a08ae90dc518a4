// The chat room's "more time" button: shown to the customer of a running timed paid session
// when its plan sells extensions; it posts to the same checkout as the plans page.

import { api } from "../parlour.js";
import { el, pageData } from "../ui.js";

const data = pageData();
const slot = document.getElementById("extension-slot");

function price(amount, currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount / 100);
}

const RECHECK_MS = 15000;

async function offer() {
  if (!slot || !data.conversation || data.me.role !== "customer") return;
  let found;
  try {
    found = await api(`/api/v1/conversations/${data.conversation.id}/extension`);
  } catch {
    return;
  }
  slot.replaceChildren();
  // Waiting for an expert: the session runs (and can be extended) once one joins.
  if (found.reason === "not_running" && data.conversation.status !== "ended") {
    setTimeout(offer, RECHECK_MS);
  }
  if (!found.available) return;
  const form = el("form", { attrs: { method: "post", action: "/checkout" } }, [
    el("input", { attrs: { type: "hidden", name: "extend", value: data.conversation.id } }),
    el(
      "button",
      { cls: "btn btn-small", attrs: { type: "submit" } },
      [`Buy ${found.minutes} more minutes (${price(found.amount, found.currency)})`],
    ),
  ]);
  slot.append(form);
}

offer();
