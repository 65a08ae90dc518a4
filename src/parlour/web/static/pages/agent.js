// The agent inbox: the waiting queue and the agent's own conversations with unread counts and
// last messages, kept live over the realtime connection; one conversation open in the pane.

import { ChatRoom } from "../chat-room.js";
import { ParlourClient, api } from "../parlour.js";
import { duration, fromTemplate, pageData, shortTime } from "../ui.js";
import { UnreadCounts, channelBadge, renderChannelFilter } from "../channels.js"; // inbox

const data = pageData();
const me = data.me;
const client = new ParlourClient();
const inbox = document.getElementById("inbox");
const paneRoom = document.getElementById("pane-room");
const paneEmpty = document.getElementById("pane-empty");
const errorBox = document.getElementById("inbox-error");
const lists = {
  queue: document.getElementById("queue-list"),
  mine: document.getElementById("mine-list"),
  ended: document.getElementById("ended-list"),
};
const entries = new Map(); // conversation id -> {conversation, bucket, node, refs, lastSeq, readSeq}
let room = null;
let currentId = null;
let connectedOnce = false;
// inbox: the caller's unread messages per channel, and the channel the lists are filtered to.
const unreadCounts = new UnreadCounts(data.unread, data.mine);
const channelFilter = document.getElementById("channel-filter");

// A queue entry (a waiting conversation this agent may not read yet) has no participants.
function myPart(conversation) {
  return (conversation.participants || []).find((p) => p.user_id === me.id && !p.left_at);
}

// Where a conversation belongs for this agent; null when it is none of their business any more.
function bucketOf(conversation) {
  const part = myPart(conversation);
  if (part && part.role === "agent") return conversation.status === "ended" ? "ended" : "mine";
  if (conversation.status === "waiting") return "queue";
  return null;
}

function unread(entry) {
  return entry.bucket === "queue" ? 0 : Math.max(0, entry.lastSeq - entry.readSeq);
}

function upsert(conversation) {
  const bucket = bucketOf(conversation);
  let entry = entries.get(conversation.id);
  if (!bucket) {
    if (entry) remove(entry);
    return null;
  }
  const part = myPart(conversation);
  if (!entry) {
    const { root, refs } = fromTemplate("conv-item-template");
    entry = { node: root, refs, lastSeq: 0, readSeq: 0 };
    entries.set(conversation.id, entry);
    refs.join.addEventListener("click", () => join(conversation.id));
    refs.link.addEventListener("click", (event) => {
      if (entry.bucket === "queue") return;
      event.preventDefault();
      open(conversation.id);
    });
  }
  const previous = entry.conversation;
  entry.conversation = {
    ...conversation,
    last_message: conversation.last_message || (previous && previous.last_message) || null,
  };
  entry.bucket = bucket;
  entry.lastSeq = Math.max(entry.lastSeq, conversation.last_seq || 0);
  entry.readSeq = Math.max(entry.readSeq, part ? part.last_read_seq : 0);
  if (bucket === "mine") {
    client.subscribe(conversation.id, { afterSeq: entry.lastSeq }).catch(() => {});
  }
  render(entry);
  place(entry);
  return entry;
}

function remove(entry) {
  entries.delete(entry.conversation.id);
  entry.node.remove();
  refreshCounts();
}

function render(entry) {
  const c = entry.conversation;
  const { refs, node } = entry;
  const customer = (c.participants || []).find((p) => p.role === "customer");
  const count = unread(entry);
  node.dataset.conversationId = c.id;
  node.classList.toggle("conv-unread", count > 0);
  node.classList.toggle("conv-ended", c.status === "ended");
  node.classList.toggle("is-current", c.id === currentId);
  refs.name.textContent = customer
    ? customer.display_name
    : c.customer_display_name || "Customer";
  refs.subject.textContent = c.subject || c.kind;
  channelBadge(c.channel || "web", refs.channel); // inbox
  node.hidden = Boolean(channelFilter.value) && (c.channel || "web") !== channelFilter.value; // inbox
  const last = c.last_message;
  refs.preview.textContent = last
    ? `${last.sender_id === me.id ? "You: " : ""}${last.body.split("\n")[0]}`
    : "";
  refs.time.dateTime = c.last_activity_at || c.created_at;
  refs.time.textContent =
    entry.bucket === "queue"
      ? `waiting ${duration(Date.now() - Date.parse(c.created_at))}`
      : shortTime(c.last_activity_at);
  refs.unread.hidden = count === 0;
  refs.unread.textContent = String(count);
  refs.unread.setAttribute("aria-label", `${count} unread`);
  refs.join.hidden = entry.bucket !== "queue";
  refs.join.setAttribute("aria-label", `Join ${refs.name.textContent}: ${refs.subject.textContent}`);
  if (entry.bucket === "queue") {
    refs.link.removeAttribute("href");
  } else {
    refs.link.href = `/agent?c=${encodeURIComponent(c.id)}`;
  }
  if (c.id === currentId) refs.link.setAttribute("aria-current", "true");
  else refs.link.removeAttribute("aria-current");
}

// The queue is first come, first served; the others show the newest activity first.
function before(a, b) {
  if (a.bucket === "queue") return a.conversation.created_at < b.conversation.created_at;
  return a.conversation.last_activity_at > b.conversation.last_activity_at;
}

function place(entry) {
  const list = lists[entry.bucket];
  const siblings = [...list.children].filter((n) => n !== entry.node);
  const next = siblings.find((n) => before(entry, entries.get(n.dataset.conversationId)));
  if (next) {
    if (entry.node.nextElementSibling !== next || entry.node.parentElement !== list) {
      list.insertBefore(entry.node, next);
    }
  } else if (entry.node.parentElement !== list || list.lastElementChild !== entry.node) {
    list.append(entry.node);
  }
  refreshCounts();
}

function refreshCounts() {
  let total = 0;
  for (const [name, list] of Object.entries(lists)) {
    const n = [...list.children].filter((node) => !node.hidden).length; // inbox: the filtered
    document.getElementById(`${name}-count`).textContent = n ? `(${n})` : "";
    const empty = document.getElementById(`${name}-empty`);
    if (empty) empty.hidden = n > 0;
  }
  for (const entry of entries.values()) total += unread(entry);
  total = Math.max(total, unreadCounts.totals().total); // inbox: unlisted conversations too
  document.title = `${total ? `(${total}) ` : ""}Inbox · Parlour`;
}

// inbox: the channel filter, each channel with its unread count.
function showChannelCounts() {
  renderChannelFilter(channelFilter, unreadCounts.totals());
  refreshCounts();
}
unreadCounts.addEventListener("change", showChannelCounts);
channelFilter.addEventListener("change", () => {
  for (const entry of entries.values()) render(entry);
  refreshCounts();
});

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = !text;
}

// Taking one from the queue is a pick: it respects the agent's capacity, and one agent wins.
async function join(id) {
  showError("");
  try {
    const view = await api(`/api/v1/conversations/${id}/pick`, { method: "POST" });
    upsert(view);
    open(id);
    loadAvailability();
  } catch (error) {
    showError(`Could not join: ${error.message}`);
  }
}

// The availability switch: online agents get waiting conversations routed to them (they
// arrive live, through the "conversation" events below); going offline hands back the ones
// not answered yet.
const availability = document.getElementById("availability");
const availabilityLoad = document.getElementById("availability-load");

function showAvailability(state) {
  availability.value = state.status;
  availability.disabled = false;
  availabilityLoad.textContent = `${state.active_conversations} of ${state.capacity} active`;
}

async function loadAvailability() {
  try {
    showAvailability(await api("/api/v1/me/availability"));
  } catch {
    // admins without routing, a network blip: the switch stays as it was
  }
}

availability.addEventListener("change", async () => {
  showError("");
  availability.disabled = true;
  try {
    const state = await api("/api/v1/me/availability", {
      method: "PUT",
      body: { status: availability.value },
    });
    showAvailability(state);
    if (state.returned_to_queue.length) resync();
  } catch (error) {
    showError(`Could not change your status: ${error.message}`);
    loadAvailability();
  }
});

async function open(id, { push = true } = {}) {
  showError("");
  let conversation;
  try {
    conversation = await api(`/api/v1/conversations/${id}`);
  } catch (error) {
    showError(`Could not open the conversation: ${error.message}`);
    return;
  }
  if (room) room.destroy();
  currentId = id;
  for (const entry of entries.values()) render(entry);
  paneEmpty.hidden = true;
  room = new ChatRoom({
    client,
    me,
    conversation,
    staffLabel: data.staff_label,
    maxChars: data.max_chars,
    back: { href: "/agent", text: "Inbox" },
  });
  paneRoom.hidden = false;
  room.open(paneRoom);
  room.refs.back.addEventListener("click", (event) => {
    event.preventDefault();
    close();
  });
  inbox.dataset.view = "pane";
  if (push) history.pushState({ id }, "", `/agent?c=${encodeURIComponent(id)}`);
}

function close({ push = true } = {}) {
  if (room) room.destroy();
  room = null;
  currentId = null;
  paneEmpty.hidden = false;
  paneRoom.hidden = true;
  inbox.dataset.view = "list";
  for (const entry of entries.values()) render(entry);
  if (push) history.pushState({}, "", "/agent");
}

function fromUrl() {
  const id = new URLSearchParams(location.search).get("c");
  if (id) open(id, { push: false });
  else close({ push: false });
}

// After a reconnect, events sent while away are gone: read the lists again.
async function resync() {
  try {
    const [mine, queue] = await Promise.all([
      api("/api/v1/conversations?scope=mine&limit=100"),
      api("/api/v1/conversations?scope=queue&limit=100"),
    ]);
    const seen = new Set();
    unreadCounts.refresh(mine.conversations).catch(() => {}); // inbox
    for (const c of [...mine.conversations, ...queue.conversations]) {
      seen.add(c.id);
      upsert(c);
    }
    for (const entry of [...entries.values()]) {
      if (entry.bucket === "queue" && !seen.has(entry.conversation.id)) remove(entry);
    }
  } catch {
    // the next reconnect tries again
  }
}

client.addEventListener("message", (event) => {
  const { conversation_id: id, message } = event.detail;
  const entry = entries.get(id);
  if (!entry) return;
  entry.lastSeq = Math.max(entry.lastSeq, message.seq);
  if (message.sender_id === me.id) entry.readSeq = Math.max(entry.readSeq, message.seq);
  entry.conversation = {
    ...entry.conversation,
    last_message: message,
    last_seq: entry.lastSeq,
    last_activity_at: message.created_at,
  };
  render(entry);
  place(entry);
});

// inbox: where I stand in a conversation I take part in (a message arrived, I read it).
client.addEventListener("unread", (event) => {
  const frame = event.detail;
  unreadCounts.update(frame);
  const entry = entries.get(frame.conversation_id);
  if (!entry) return;
  entry.lastSeq = Math.max(entry.lastSeq, frame.last_seq);
  entry.readSeq = Math.max(entry.readSeq, frame.read_seq);
  render(entry);
  refreshCounts();
});

client.addEventListener("read", (event) => {
  const { conversation_id: id, user_id: userId, seq } = event.detail;
  const entry = entries.get(id);
  if (!entry || userId !== me.id) return;
  entry.readSeq = Math.max(entry.readSeq, seq);
  render(entry);
  refreshCounts();
});

client.addEventListener("conversation", (event) => {
  const before = entries.get(event.detail.conversation.id);
  const wasMine = Boolean(before && before.bucket === "mine");
  const entry = upsert(event.detail.conversation);
  if (!myPart(event.detail.conversation)) unreadCounts.forget(event.detail.conversation.id); // inbox
  // Assigned to me, or taken from me: my load changed.
  if (wasMine !== (entry !== null && entry.bucket === "mine")) loadAvailability();
});

// The staff feed: a conversation entered or left the waiting queue (a redacted entry).
client.addEventListener("queue", (event) => {
  const { action, entry: queued } = event.detail;
  const entry = entries.get(queued.id);
  if (action === "queued") {
    if (!entry || entry.bucket === "queue") upsert(queued);
  } else if (entry && entry.bucket === "queue") {
    remove(entry);
  }
});

client.addEventListener("ready", () => {
  if (connectedOnce) resync();
  connectedOnce = true;
});

client.addEventListener("unauthorized", () => {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
});

window.addEventListener("popstate", fromUrl);
setInterval(() => {
  for (const entry of entries.values()) if (entry.bucket === "queue") render(entry);
}, 30000);

for (const c of [...data.queue, ...data.mine]) upsert(c);
showChannelCounts(); // inbox
refreshCounts();
loadAvailability();
client.connect();
fromUrl();
