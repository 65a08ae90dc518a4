// The chat room's countdown for a conversation with a time limit. It asks the server once
// (GET /timer gives `ends_at` and the server's time, so a wrong local clock does not matter),
// then counts down locally and follows live `timer` events (start, extension, warning, end).

import { api } from "./parlour.js";

const LOW_MS = 60_000;

function mmss(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return `${minutes}:${seconds}`;
}

export class Countdown {
  constructor({ client, conversation, node }) {
    this.client = client;
    this.id = conversation.id;
    this.node = node;
    this.timer = null;
    this.offset = 0; // server time minus local time
    this.tick = null;
    // Ended by someone before the limit: no countdown (the limit's own end says "Time is up").
    this.ended = conversation.status === "ended";
    this.cleanups = [];
  }

  start() {
    const on = (type, handler) => {
      this.client.addEventListener(type, handler);
      this.cleanups.push(() => this.client.removeEventListener(type, handler));
    };
    on("timer", (event) => {
      if (event.detail.conversation_id === this.id) this.#set(event.detail.timer);
    });
    // After a reconnect a `timer` event may have been missed: ask again.
    on("ready", () => this.#fetch());
    on("conversation", (event) => {
      const c = event.detail.conversation;
      if (c.id !== this.id || c.status !== "ended") return;
      // Ended by someone (or by the limit: its `timer` event follows and says "Time is up").
      clearInterval(this.tick);
      this.tick = null;
      if (this.timer && !this.timer.finished) this.node.hidden = true;
      this.ended = true;
    });
    this.#fetch();
  }

  destroy() {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    clearInterval(this.tick);
  }

  async #fetch() {
    try {
      this.#set(await api(`/api/v1/conversations/${this.id}/timer`));
    } catch {
      // No countdown is better than a wrong one; the next `timer` event brings it back.
    }
  }

  #set(timer) {
    this.timer = timer;
    this.offset = Date.parse(timer.server_time) - Date.now();
    clearInterval(this.tick);
    this.tick = null;
    if (timer.ends_at && !timer.finished && !this.ended) {
      this.tick = setInterval(() => this.#render(), 1000);
    }
    this.#render();
  }

  #render() {
    const { node, timer } = this;
    if (!timer || timer.limit_seconds === null || (this.ended && !timer.finished)) {
      node.hidden = true;
      return;
    }
    node.hidden = false;
    let text;
    let low = false;
    if (timer.finished) {
      text = "Time is up";
    } else if (!timer.ends_at) {
      text = `${mmss(timer.limit_seconds * 1000)} limit · starts when someone joins`;
    } else {
      const left = Date.parse(timer.ends_at) - (Date.now() + this.offset);
      low = left <= LOW_MS;
      text = left > 0 ? `${mmss(left)} left` : "Time is up";
    }
    node.textContent = text;
    node.className = low || timer.finished ? "countdown countdown-low" : "countdown";
  }
}
