// After paying: wait for the payment to land (Stripe's webhook may arrive after the customer),
// then go where the plan says. Never an error while waiting: it keeps polling, slower over time.

import { api } from "../parlour.js";
import { pageData } from "../ui.js";

const { session_id: sessionId } = pageData();
const status = document.getElementById("checkout-status");
const next = document.getElementById("checkout-next");
let delay = 500;

async function poll() {
  try {
    const state = await api(`/api/v1/orders/by-checkout/${encodeURIComponent(sessionId)}`);
    if (state.destination) {
      status.textContent = "Payment received. Taking you there…";
      window.location.assign(state.destination);
      return;
    }
    if (state.order.status === "expired") {
      status.textContent = "This checkout expired before it was paid. Nothing was charged.";
      next.hidden = false;
      next.querySelector("a").href = "/plans";
      next.querySelector("a").textContent = "Back to plans";
      return;
    }
    status.textContent = "Confirming your payment…";
  } catch (error) {
    // The order may not be visible yet (or the network blinked): keep waiting.
    status.textContent = "Confirming your payment…";
  }
  delay = Math.min(delay * 1.5, 5000);
  if (delay >= 5000) next.hidden = false;
  setTimeout(poll, delay);
}

poll();
