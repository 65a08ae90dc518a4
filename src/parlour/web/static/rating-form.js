// After a conversation ends, its customer rates it once: 1 to 5 and an optional comment.
// Shown only to the customer, only once the conversation has ended and until it is rated.

import { api } from "./parlour.js";
import { el } from "./ui.js";

const LABELS = ["", "Poor", "Fair", "Good", "Very good", "Excellent"];

export class RatingForm {
  constructor({ client, conversation, me, node }) {
    this.client = client;
    this.id = conversation.id;
    this.status = conversation.status;
    this.me = me;
    this.node = node;
    this.cleanups = [];
  }

  start() {
    if (this.me.role !== "customer") return;
    const onConversation = (event) => {
      const c = event.detail.conversation;
      if (c.id !== this.id || c.status === this.status) return;
      this.status = c.status;
      if (c.status === "ended") this.#refresh();
    };
    this.client.addEventListener("conversation", onConversation);
    this.cleanups.push(() => this.client.removeEventListener("conversation", onConversation));
    if (this.status === "ended") this.#refresh();
  }

  destroy() {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  async #refresh() {
    let state;
    try {
      state = await api(`/api/v1/conversations/${this.id}/rating`);
    } catch {
      return;
    }
    if (state.rating) this.#thanks(state.rating.score);
    else if (state.may_rate) this.#form();
    else this.node.hidden = true;
  }

  #thanks(score) {
    this.node.replaceChildren(
      el("p", { cls: "rating-done", text: `You rated this conversation ${score} of 5. Thank you!` }),
    );
    this.node.hidden = false;
  }

  #form() {
    const form = el("form", { cls: "rating-form", attrs: { "aria-label": "Rate this conversation" } });
    const stars = el("fieldset", { cls: "rating-stars" }, [
      el("legend", { text: "How was this conversation?" }),
    ]);
    for (let score = 1; score <= 5; score += 1) {
      const input = el("input", {
        attrs: { type: "radio", name: "score", value: String(score), required: "" },
      });
      stars.append(
        el("label", { cls: "rating-star", attrs: { title: LABELS[score] } }, [
          input,
          el("span", { text: String(score) }),
          el("span", { cls: "visually-hidden", text: ` ${LABELS[score]}` }),
        ]),
      );
    }
    const comment = el("textarea", {
      attrs: { name: "comment", rows: "2", maxlength: "2000", placeholder: "A comment (optional)" },
    });
    const error = el("p", { cls: "composer-error", attrs: { role: "alert" } });
    error.hidden = true;
    const submit = el("button", { cls: "btn btn-primary btn-small", text: "Send rating" });
    submit.type = "submit";
    form.append(stars, el("label", { cls: "rating-comment" }, [comment]), submit, error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const picked = form.querySelector("input[name=score]:checked");
      if (!picked) {
        error.textContent = "Choose a score from 1 to 5.";
        error.hidden = false;
        return;
      }
      submit.disabled = true;
      try {
        const body = { score: Number(picked.value) };
        if (comment.value.trim()) body.comment = comment.value.trim();
        const rating = await api(`/api/v1/conversations/${this.id}/rating`, { method: "POST", body });
        this.#thanks(rating.score);
      } catch (failure) {
        if (failure.code === "already_rated") {
          this.#refresh();
          return;
        }
        error.textContent = `Not sent: ${failure.message}`;
        error.hidden = false;
        submit.disabled = false;
      }
    });
    this.node.replaceChildren(form);
    this.node.hidden = false;
  }
}
