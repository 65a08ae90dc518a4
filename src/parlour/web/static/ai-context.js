// ai: the AI context for staff (docs/ai.md): the conversation's summary at the top of the
// agent's view (refreshed live by `ai_summary` events) and suggested replies as buttons that
// fill the composer. Nothing is sent without the agent's click on Send.

import { api } from "./parlour.js";
import { el, shortTime } from "./ui.js";

const STATUS_TEXT = {
  none: "No summary yet.",
  pending: "Updating the summary…",
  failed: "The last update failed.",
};

export function summaryPanel(client, conversationId) {
  const body = el("p", { cls: "ai-summary-body" });
  const meta = el("p", { cls: "ai-summary-meta muted" });
  const refresh = el("button", { cls: "btn btn-quiet btn-small", text: "Refresh" });
  refresh.type = "button";
  const root = el("section", { cls: "ai-summary", attrs: { "aria-label": "Context summary" } }, [
    el("div", { cls: "ai-summary-head" }, [el("strong", { text: "Context summary" }), refresh]),
    body,
    meta,
  ]);
  root.dataset.ref = "ai-summary";

  function show(summary) {
    body.textContent = summary.body || STATUS_TEXT[summary.status] || "";
    const parts = [];
    if (summary.status !== "ready" && summary.body) parts.push(STATUS_TEXT[summary.status] || "");
    if (summary.created_at) parts.push(`${summary.provider} · ${shortTime(summary.created_at)}`);
    if (summary.status === "failed" && summary.error) parts.push(summary.error);
    meta.textContent = parts.filter(Boolean).join(" · ");
    root.dataset.status = summary.status;
  }

  async function load() {
    try {
      show(await api(`/api/v1/conversations/${conversationId}/summary`));
    } catch (error) {
      meta.textContent = `Could not load the summary: ${error.message}`;
    }
  }

  refresh.addEventListener("click", async () => {
    try {
      show(await api(`/api/v1/conversations/${conversationId}/summary`, { method: "POST" }));
    } catch (error) {
      meta.textContent = `Could not refresh: ${error.message}`;
    }
  });
  const onSummary = (event) => {
    if (event.detail.conversation_id === conversationId) show(event.detail.summary);
  };
  client.addEventListener("ai_summary", onSummary);
  load();
  return { root, start() {}, destroy: () => client.removeEventListener("ai_summary", onSummary) };
}

export function suggestionBar(conversationId, input) {
  const list = el("div", { cls: "ai-suggestions-list" });
  const ask = el("button", { cls: "btn btn-quiet btn-small", text: "Suggest replies" });
  ask.type = "button";
  const note = el("span", { cls: "muted ai-suggestions-note", attrs: { "aria-live": "polite" } });
  const root = el("div", { cls: "ai-suggestions" }, [ask, note, list]);
  root.dataset.ref = "ai-suggestions";
  ask.addEventListener("click", async () => {
    list.replaceChildren();
    note.textContent = "Thinking…";
    try {
      const answer = await api(`/api/v1/conversations/${conversationId}/suggestions`, {
        method: "POST",
      });
      note.textContent = "";
      for (const text of answer.suggestions) {
        const pick = el("button", { cls: "btn btn-quiet btn-small ai-suggestion", text });
        pick.type = "button";
        // Fills the composer only: the agent edits and sends it themselves.
        pick.addEventListener("click", () => {
          input.value = text;
          input.dispatchEvent(new Event("input", { bubbles: true }));
          input.focus();
        });
        list.append(pick);
      }
    } catch (error) {
      note.textContent =
        error.code === "ai_suggestions_unavailable" ? "Suggestions are not available here." : error.message;
    }
  });
  return { root, start() {}, destroy() {} };
}

// Puts both into a ChatRoom opened by a staff member; the room destroys them with itself.
export function mountAiContext(client, room, conversationId) {
  const summary = summaryPanel(client, conversationId);
  room.refs.scroll.before(summary.root);
  const extras = [summary];
  if (room.refs.composer.isConnected) {
    const bar = suggestionBar(conversationId, room.refs.input);
    room.refs.composer.prepend(bar.root);
    extras.push(bar);
  }
  room.extras = [...(room.extras || []), ...extras];
}
