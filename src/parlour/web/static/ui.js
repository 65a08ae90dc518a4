// Small DOM helpers shared by the pages. User text only ever becomes text nodes.

/** The JSON a page was rendered with (a <script type="application/json">, never executed). */
export function pageData(id = "page-data") {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

/** Clone a <template> and collect its `data-ref` elements by name. */
export function fromTemplate(id) {
  const template = document.getElementById(id);
  const fragment = template.content.cloneNode(true);
  const refs = {};
  for (const node of fragment.querySelectorAll("[data-ref]")) refs[node.dataset.ref] = node;
  return { root: fragment.firstElementChild, refs };
}

/** Create an element with classes and text (set as text, never parsed as markup). */
export function el(tag, { cls, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  if (attrs) for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/**
 * Message text as nodes: plain text, with http(s) links made clickable. Anything else,
 * `javascript:` included, stays text. Links open in a new tab without access to this page.
 */
export function richText(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    let raw = match[0];
    const trailing = raw.match(TRAILING);
    if (trailing) raw = raw.slice(0, -trailing[0].length);
    let url = null;
    try {
      url = new URL(raw);
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) continue;
    fragment.append(document.createTextNode(text.slice(last, match.index)));
    const link = el("a", { text: raw });
    link.href = url.href;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    fragment.append(link);
    last = match.index + raw.length;
  }
  fragment.append(document.createTextNode(text.slice(last)));
  return fragment;
}

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayAndClock = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
});

/** "14:05" today, "3 Mar, 14:05" on other days. */
export function shortTime(iso) {
  const date = new Date(iso);
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? clock.format(date)
    : dayAndClock.format(date);
}

/** A duration in words: "just now", "4 min", "2 h 5 min", "3 days". */
export function duration(ms) {
  const minutes = Math.floor(Math.max(0, ms) / 60000);
  if (minutes < 1) return "less than a minute";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return days === 1 ? "1 day" : `${days} days`;
}

/** "an expert", "a mechanic". */
export function withArticle(noun) {
  return /^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`;
}

export const STATUS_LABEL = { waiting: "Waiting", active: "Active", ended: "Ended" };

/** Why a conversation ended, in words, from the viewer's point of view. */
export function endedText(conversation, { me, staffLabel, names }) {
  const by = conversation.ended_by_id;
  const who = by === me ? "You" : names.get(by) || null;
  switch (conversation.end_reason) {
    case "customer":
      return who ? `${who} ended the conversation.` : "The customer ended the conversation.";
    case "agent":
      return who ? `${who} ended the conversation.` : `The ${staffLabel} ended the conversation.`;
    case "admin":
      return who === "You" ? "You ended the conversation." : "An administrator ended the conversation.";
    case "time_limit":
      return "The time for this conversation ran out.";
    case "appointment_over":
      return "The appointment is over.";
    case "cancelled":
      return "The conversation was cancelled.";
    case "refunded":
      return "The conversation was refunded.";
    case "inactivity":
      return "The conversation was closed after a while without messages.";
    default:
      return "The conversation has ended.";
  }
}
