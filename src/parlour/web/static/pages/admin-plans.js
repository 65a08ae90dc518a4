// The admin's plans editor: each row saves through PATCH /api/v1/plans/{id}; new plans through
// POST /api/v1/plans.

import { api } from "../parlour.js";

const error = document.getElementById("plans-error");
const saved = document.getElementById("plans-saved");

function show(text) {
  error.textContent = text;
  error.hidden = !text;
}

function number(input) {
  return input.value === "" ? null : Number(input.value);
}

document.getElementById("plan-rows").addEventListener("click", async (event) => {
  const button = event.target.closest("[data-save]");
  if (!button) return;
  const row = button.closest("tr");
  const field = (name) => row.querySelector(`[name="${name}"]`);
  show("");
  saved.textContent = "";
  try {
    await api(`/api/v1/plans/${row.dataset.planId}`, {
      method: "PATCH",
      body: {
        name: field("name").value,
        kind: field("kind").value,
        price_amount: number(field("price_amount")),
        currency: field("currency").value,
        time_limit_minutes: number(field("time_limit_minutes")),
        after_payment: field("after_payment").value,
        extension_minutes: number(field("extension_minutes")),
        extension_price_amount: number(field("extension_price_amount")),
        sort_order: number(field("sort_order")) ?? 0,
        active: field("active").checked,
      },
    });
    saved.textContent = `Saved ${row.dataset.planCode}.`;
  } catch (err) {
    show(err.message);
  }
});

document.getElementById("new-plan").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  show("");
  try {
    await api("/api/v1/plans", {
      method: "POST",
      body: {
        code: form.elements.code.value,
        name: form.elements.name.value,
        kind: form.elements.kind.value,
        price_amount: number(form.elements.price_amount),
        time_limit_minutes: number(form.elements.time_limit_minutes),
      },
    });
    window.location.reload();
  } catch (err) {
    show(err.message);
  }
});
