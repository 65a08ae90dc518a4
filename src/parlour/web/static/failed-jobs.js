// twilio: the admin console's failed jobs (a WhatsApp/SMS reply that could not be sent, and
// any other job that gave up), each with a Retry button (POST /api/v1/admin/jobs/{id}/retry).

import { api } from "./parlour.js";
import { el, shortTime } from "./ui.js";

const REFRESH_MS = 15_000;
const LABEL = { "twilio.send": "WhatsApp/SMS reply", "twilio.media": "WhatsApp/SMS media" };

export function showFailedJobs(section) {
  const list = section.querySelector("[data-ref=failed-list]");
  const empty = section.querySelector("[data-ref=failed-empty]");

  async function load() {
    let page;
    try {
      page = await api("/api/v1/admin/jobs?status=failed&limit=50");
    } catch {
      return; // the console's own error box tells about a lost connection
    }
    list.replaceChildren(...page.jobs.map(row));
    empty.hidden = page.jobs.length > 0;
  }

  function row(job) {
    const retry = el("button", {
      cls: "btn btn-quiet btn-small",
      text: "Retry",
      attrs: { type: "button" },
    });
    const error = el("span", { cls: "muted", text: job.last_error || "" });
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      try {
        await api(`/api/v1/admin/jobs/${job.id}/retry`, { method: "POST" });
        await load();
      } catch (failure) {
        retry.disabled = false;
        error.textContent = failure.message;
      }
    });
    const when = job.finished_at ? shortTime(job.finished_at) : "";
    return el("li", { cls: "failed-job", attrs: { "data-job-id": job.id } }, [
      el("strong", { text: LABEL[job.kind] || job.kind }),
      el("span", { text: ` ${when} · ${job.attempts} attempt${job.attempts === 1 ? "" : "s"} ` }),
      error,
      retry,
    ]);
  }

  load();
  setInterval(load, REFRESH_MS);
}
