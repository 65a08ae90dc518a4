// inbox: the channel a conversation travels on (web, WhatsApp, SMS, email) as the pages show
// it: a badge on each conversation, a "via …" label on channel messages, the channel filter with
// each channel's unread count, and the caller's unread counts kept live from `unread` events.

import { api } from "./parlour.js";
import { el } from "./ui.js";

export const CHANNELS = ["web", "whatsapp", "sms", "email"];
export const CHANNEL_LABEL = { web: "Web", whatsapp: "WhatsApp", sms: "SMS", email: "Email" };

export function channelLabel(channel) {
  return CHANNEL_LABEL[channel] || channel;
}

/** A small badge naming the conversation's channel. */
export function channelBadge(channel, node = el("span")) {
  node.className = `channel-badge channel-${channel}`;
  node.textContent = channelLabel(channel);
  node.dataset.channel = channel;
  return node;
}

/** "via WhatsApp" for a message that came or went through another channel than the web. */
export function viaLabel(message) {
  if (!message.channel || message.channel === "web") return null;
  return el("span", { cls: "msg-via", text: `via ${channelLabel(message.channel)}` });
}

/**
 * The caller's unread messages per channel, kept live.
 *
 * Each conversation is known by its last seq and the caller's read pointer; both only grow, so
 * keeping the highest of each converges whatever order the `unread` events arrive in. The
 * server's totals (`GET /conversations/unread`, also in the page data) count conversations this
 * page never listed too: what the listed ones do not explain is kept as a per-channel base.
 */
export class UnreadCounts extends EventTarget {
  constructor(totals, conversations = []) {
    super();
    this.known = new Map(); // conversation id -> {channel, last, read}
    this.base = {};
    this.reset(totals, conversations);
  }

  reset(totals, conversations = []) {
    this.known.clear();
    for (const c of conversations) this.#remember(c.id, c.channel, c.last_seq, c.last_seq - c.unread_count);
    const listed = this.#sums();
    this.base = {};
    for (const channel of CHANNELS) {
      const server = (totals && totals.channels && totals.channels[channel]) || 0;
      this.base[channel] = Math.max(0, server - (listed[channel] || 0));
    }
    this.#changed();
  }

  /** An `unread` event's frame (or a conversation view with `unread_count`). */
  update({ conversation_id: id, channel, last_seq: last, read_seq: read }) {
    this.#remember(id, channel, last, read);
    this.#changed();
  }

  /** A conversation the caller no longer follows (they left it): it counts no more. */
  forget(id) {
    if (this.known.delete(id)) this.#changed();
  }

  of(id) {
    const c = this.known.get(id);
    return c ? Math.max(0, c.last - c.read) : 0;
  }

  /** {web: n, whatsapp: n, …, total: n} */
  totals() {
    const sums = this.#sums();
    const result = { total: 0 };
    for (const channel of CHANNELS) {
      result[channel] = (this.base[channel] || 0) + (sums[channel] || 0);
      result.total += result[channel];
    }
    return result;
  }

  /** Read the server's totals again (after a reconnect: events sent meanwhile are lost). */
  async refresh(conversations = []) {
    this.reset(await api("/api/v1/conversations/unread"), conversations);
  }

  #remember(id, channel, last, read) {
    const prev = this.known.get(id);
    this.known.set(id, {
      channel: channel || (prev && prev.channel) || "web",
      last: Math.max(last || 0, prev ? prev.last : 0),
      read: Math.max(read || 0, prev ? prev.read : 0),
    });
  }

  #sums() {
    const sums = {};
    for (const c of this.known.values()) {
      sums[c.channel] = (sums[c.channel] || 0) + Math.max(0, c.last - c.read);
    }
    return sums;
  }

  #changed() {
    this.dispatchEvent(new Event("change"));
  }
}

/**
 * Fill a <select> with "All channels" and each channel, each with its unread count, keeping
 * the current choice. `extra(channel)` may add to a label (the admin console's live counts).
 */
export function renderChannelFilter(select, totals, extra = () => "") {
  const current = select.value || "";
  const options = [["", "All channels", totals.total], ...CHANNELS.map((c) => [c, channelLabel(c), totals[c]])];
  select.replaceChildren(
    ...options.map(([value, label, unread]) => {
      const more = extra(value);
      const text = `${label}${more ? ` · ${more}` : ""}${unread ? ` (${unread} unread)` : ""}`;
      const option = el("option", { text, attrs: { value } });
      option.dataset.unread = String(unread || 0);
      return option;
    }),
  );
  select.value = current;
}
