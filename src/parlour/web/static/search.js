// search: the search box of the inbox and the admin console (docs/search.md).
//
// Asks GET /api/v1/search and lists what matched: conversations by subject or customer, and
// messages with a snippet around the match, each linking to the conversation at the message.
// Snippets come escaped with matches in <mark>; they are still rebuilt here from text nodes
// and <mark> elements only, so nothing but a mark can ever reach the page from a message.

import { api } from "./parlour.js";
import { STATUS_LABEL, el, shortTime } from "./ui.js";

const form = document.querySelector("form[data-search]");
const box = document.getElementById("search-results");
const list = document.getElementById("search-list");
const status = document.getElementById("search-status");
const more = document.getElementById("search-more");
// The page's link for a conversation at a message: "/agent?c={id}#seq-{seq}" or "/chat/...".
const linkPattern = form.dataset.link;
let current = { q: "", offset: 0 };

function linkTo(conversationId, seq) {
  const href = linkPattern.replace("{id}", encodeURIComponent(conversationId));
  return seq ? href.replace("{seq}", String(seq)) : href.replace(/#.*$/, "");
}

/** The snippet's text and marks as DOM nodes (anything else becomes plain text). */
function marked(html) {
  const parsed = new DOMParser().parseFromString(`<p>${html}</p>`, "text/html");
  const out = [];
  for (const node of parsed.body.firstChild.childNodes) {
    if (node.nodeType === Node.ELEMENT_NODE && node.tagName === "MARK") {
      out.push(el("mark", { text: node.textContent }));
    } else {
      out.push(document.createTextNode(node.textContent));
    }
  }
  return out;
}

function conversationItem(c) {
  const who = c.customer_name ? ` · ${c.customer_name}` : "";
  return el("li", { cls: "search-hit search-hit-conversation" }, [
    el("a", { attrs: { href: linkTo(c.conversation_id) } }, [
      el("span", { cls: "search-hit-title" }, c.subject ? marked(c.subject_html) : []),
      el("span", { cls: "search-hit-meta", text: `${STATUS_LABEL[c.status]}${who}` }),
    ]),
  ]);
}

function messageItem(m) {
  const where = m.conversation_subject || "Conversation";
  const meta = `${m.sender_name || "Former participant"} · ${where} · ${STATUS_LABEL[m.conversation_status]} · ${m.conversation_channel}`;
  return el("li", { cls: "search-hit" }, [
    el("a", { attrs: { href: linkTo(m.conversation_id, m.seq) } }, [
      el("span", { cls: "search-hit-snippet" }, marked(m.snippet)),
      el("span", { cls: "search-hit-meta" }, [
        document.createTextNode(`${meta} · `),
        el("time", { text: shortTime(m.created_at), attrs: { datetime: m.created_at } }),
      ]),
    ]),
  ]);
}

async function run(q, offset) {
  box.hidden = false;
  status.textContent = "Searching…";
  if (offset === 0) list.replaceChildren();
  more.hidden = true;
  let page;
  try {
    page = await api(`/api/v1/search?q=${encodeURIComponent(q)}&offset=${offset}`);
  } catch (error) {
    status.textContent = error.message;
    return;
  }
  current = { q, offset: page.next_offset };
  list.append(...page.conversations.map(conversationItem), ...page.messages.map(messageItem));
  const found = list.children.length;
  status.textContent = found ? `${found} found${page.next_offset ? " so far" : ""}` : "Nothing found.";
  more.hidden = page.next_offset === null;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const q = new FormData(form).get("q").trim();
  if (q) run(q, 0);
});
more.addEventListener("click", () => run(current.q, current.offset));
