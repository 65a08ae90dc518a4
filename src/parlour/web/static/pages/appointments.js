// The appointments page: times in the viewer's own zone, booking a free slot, cancelling.

import { api } from "../parlour.js";
import { el, pageData } from "../ui.js";

const data = pageData();
const errorBox = document.getElementById("appt-error");

const dayTime = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

/** "Mon, 2 Mar 2026, 09:00–09:30" in the viewer's zone. */
function range(startIso, endIso) {
  const start = new Date(startIso);
  const end = new Date(endIso);
  const sameDay = start.toDateString() === end.toDateString();
  return `${dayTime.format(start)}–${sameDay ? timeOnly.format(end) : dayTime.format(end)}`;
}

for (const node of document.querySelectorAll("time[data-range]")) {
  node.textContent = range(node.getAttribute("datetime"), node.dataset.end);
}

// -- cancelling -------------------------------------------------------------------------------

const dialog = document.getElementById("cancel-dialog");
const reasonInput = document.getElementById("cancel-reason");
let cancelling = null;

for (const button of document.querySelectorAll("[data-cancel]")) {
  button.addEventListener("click", () => {
    cancelling = button.dataset.cancel;
    reasonInput.value = "";
    dialog.showModal();
  });
}

dialog?.addEventListener("close", async () => {
  if (dialog.returnValue !== "confirm" || !cancelling) return;
  const reason = reasonInput.value.trim();
  if (!reason) return;
  try {
    await api(`/api/v1/appointments/${encodeURIComponent(cancelling)}/cancel`, {
      method: "POST",
      body: { reason },
    });
    window.location.reload();
  } catch (error) {
    showError(error.message);
  }
});

// -- booking ----------------------------------------------------------------------------------

const expertSelect = document.getElementById("book-expert");
const daySelect = document.getElementById("book-day");
const durationSelect = document.getElementById("book-duration");
const slotList = document.getElementById("slots");
const slotsEmpty = document.getElementById("slots-empty");

function localDayStart(value) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d); // midnight in the viewer's zone
}

function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

let generation = 0; // a newer request wins over an older one still under way

async function loadSlots() {
  if (!expertSelect || !daySelect.value) return;
  const mine = ++generation;
  const from = localDayStart(daySelect.value);
  const to = new Date(from.getTime());
  to.setDate(to.getDate() + 1);
  const params = new URLSearchParams({
    from: from.toISOString(),
    to: to.toISOString(),
    duration: durationSelect.value,
  });
  slotList.replaceChildren();
  try {
    const page = await api(
      `/api/v1/experts/${encodeURIComponent(expertSelect.value)}/slots?${params}`,
    );
    if (mine !== generation) return;
    slotList.replaceChildren();
    slotsEmpty.hidden = page.slots.length > 0;
    for (const slot of page.slots) {
      const button = el("button", {
        cls: "btn btn-quiet btn-small",
        text: timeOnly.format(new Date(slot.starts_at)),
        attrs: { type: "button", "data-slot": slot.starts_at },
      });
      button.addEventListener("click", () => book(slot.starts_at, button));
      slotList.append(el("li", {}, [button]));
    }
  } catch (error) {
    showError(error.message);
  }
}

async function book(startsAt, button) {
  button.disabled = true;
  try {
    const appointment = await api("/api/v1/appointments/book", {
      method: "POST",
      body: {
        expert_id: expertSelect.value,
        starts_at: startsAt,
        duration_minutes: Number(durationSelect.value),
      },
    });
    window.location.assign(`/chat/${appointment.conversation_id}`);
  } catch (error) {
    showError(error.message);
    button.disabled = false;
    loadSlots();
  }
}

if (expertSelect && data.may_book) {
  daySelect.value = isoDay(new Date());
  for (const node of [expertSelect, daySelect, durationSelect]) {
    node.addEventListener("change", loadSlots);
  }
  loadSlots();
}
