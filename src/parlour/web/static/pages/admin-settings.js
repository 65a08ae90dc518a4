// The admin's settings page: save the tenant's settings, set or remove provider keys. A key's
// value goes to the server and is never read back: the page only learns whether it is set.

import { api } from "../parlour.js";
import { el, pageData } from "../ui.js";

const data = pageData();
const form = document.getElementById("settings-form");
const settingsError = document.getElementById("settings-error");
const saved = document.getElementById("settings-saved");
const secretsError = document.getElementById("secrets-error");

function show(box, text) {
  box.textContent = text;
  box.hidden = !text;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  show(settingsError, "");
  saved.textContent = "";
  const kinds = form.elements.customer_conversation_kinds.value
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  try {
    await api("/api/v1/tenant/settings", {
      method: "PATCH",
      body: {
        staff_label: form.elements.staff_label.value,
        customer_conversation_kinds: kinds,
        announce_observers: form.elements.announce_observers.checked,
        // attachments: private read receipts
        private_read_receipts: form.elements.private_read_receipts.checked,
      },
    });
    saved.textContent = "Saved.";
  } catch (error) {
    show(settingsError, error.message);
  }
});

function statusCell(secret) {
  if (!secret.set) return el("span", { cls: "muted", text: "Not set" });
  const when = secret.updated_at ? ` · ${new Date(secret.updated_at).toLocaleString()}` : "";
  const hint = secret.hint ? ` · ends in ${secret.hint}` : "";
  if (secret.readable === false) {
    return el("span", { cls: "waiting-long", text: `Unreadable: set it again${when}` });
  }
  return el("span", { text: `Set${hint}${when}` });
}

function renderSecret(secret) {
  const row = document.querySelector(`tr[data-secret="${secret.name}"]`);
  if (!row) return;
  row.querySelector("[data-status]").replaceChildren(statusCell(secret));
  row.querySelector("[data-remove]").hidden = !secret.set;
}

for (const secret of data.secrets) renderSecret(secret);

for (const secretForm of document.querySelectorAll("[data-secret-form]")) {
  const name = secretForm.dataset.secretForm;
  const path = `/api/v1/tenant/secrets/${encodeURIComponent(name)}`;
  secretForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(secretsError, "");
    try {
      const secret = await api(path, { method: "PUT", body: { value: secretForm.elements.value.value } });
      secretForm.reset();
      renderSecret(secret);
    } catch (error) {
      show(secretsError, `${name}: ${error.message}`);
    }
  });
  secretForm.querySelector("[data-remove]").addEventListener("click", async () => {
    show(secretsError, "");
    try {
      await api(path, { method: "DELETE" });
      renderSecret({ name, set: false });
    } catch (error) {
      show(secretsError, `${name}: ${error.message}`);
    }
  });
}
