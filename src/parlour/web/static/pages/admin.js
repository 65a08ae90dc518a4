// The admin console: every live conversation of the tenant, kept live; assign an agent,
// observe (read-only), end.

import { ParlourClient, api } from "../parlour.js";
import { STATUS_LABEL, duration, el, pageData, shortTime } from "../ui.js";
import { UnreadCounts, channelBadge, channelLabel, renderChannelFilter } from "../channels.js"; // inbox

const LONG_WAIT_MS = 5 * 60 * 1000;

const data = pageData();
const client = new ParlourClient();
const rows = new Map(); // conversation id -> {conversation, tr}
const tbody = document.getElementById("live-rows");
const empty = document.getElementById("live-empty");
const summary = document.getElementById("live-summary");
const errorBox = document.getElementById("admin-error");
const endDialog = document.getElementById("end-dialog");
let connectedOnce = false;
// inbox: the admin's own unread messages per channel (conversations they take part in or
// observe) and the channel the table is filtered to.
const unreadCounts = new UnreadCounts(data.unread, data.conversations);
const channelFilter = document.getElementById("channel-filter");

function title(c) {
  return c.subject || `${c.kind} conversation`;
}

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = !text;
}

function waitingCell(c) {
  if (c.status === "waiting") {
    const waited = Date.now() - Date.parse(c.created_at);
    return el("span", { cls: waited > LONG_WAIT_MS ? "waiting-long" : "", text: duration(waited) });
  }
  const joined = c.participants
    .filter((p) => p.role === "agent")
    .map((p) => Date.parse(p.joined_at))
    .sort((a, b) => a - b)[0];
  const text = joined ? `answered in ${duration(joined - Date.parse(c.created_at))}` : "—";
  return el("span", { cls: "muted", text });
}

function button(text, context, onClick, cls = "btn btn-quiet btn-small") {
  const node = el("button", { cls, text }, [el("span", { cls: "visually-hidden", text: ` ${context}` })]);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

function render(c) {
  const tr = el("tr");
  tr.dataset.conversationId = c.id;
  const customer = c.participants.find((p) => p.role === "customer");
  const present = c.participants.filter((p) => !p.left_at);
  const assigned = new Set(present.filter((p) => p.role === "agent").map((p) => p.user_id));

  const people = el(
    "ul",
    { cls: "people" },
    present.map((p) => el("li", { text: `${p.display_name} (${p.role})` })),
  );
  const select = el("select", { attrs: { "aria-label": `Agent for ${title(c)}` } });
  select.append(el("option", { text: "Choose an agent…", attrs: { value: "" } }));
  for (const agent of data.agents) {
    if (!assigned.has(agent.id)) {
      select.append(el("option", { text: agent.display_name, attrs: { value: agent.id } }));
    }
  }
  const actions = el("div", { cls: "row-actions" }, [
    select,
    button("Assign", title(c), () => assign(c.id, select.value)),
    button("Observe", title(c), () => observe(c.id)),
    button("End", title(c), () => end(c)),
  ]);
  // inbox: the channel badge, the admin's unread count, and the channel filter.
  const channel = c.channel || "web";
  tr.dataset.channel = channel;
  tr.hidden = Boolean(channelFilter.value) && channel !== channelFilter.value;
  const unread = unreadCounts.of(c.id);
  const unreadBadge = el("span", {
    cls: "badge",
    text: String(unread),
    attrs: { "aria-label": `${unread} unread`, "data-unread": "" },
  });
  unreadBadge.hidden = unread === 0;
  tr.append(
    el("td", {}, [
      el("strong", { text: title(c) }),
      el("span", { cls: "sub" }, [
        document.createTextNode(`${customer ? customer.display_name : "Customer"} · ${c.kind} `),
        channelBadge(channel),
        document.createTextNode(" "),
        unreadBadge,
      ]),
    ]),
    el("td", {}, [el("span", { cls: `pill pill-${c.status}`, text: STATUS_LABEL[c.status] })]),
    el("td", {}, [people]),
    el("td", { attrs: { "data-waiting": "" } }, [waitingCell(c)]),
    el("td", {}, [
      el("time", { text: shortTime(c.last_activity_at), attrs: { datetime: c.last_activity_at } }),
    ]),
    el("td", {}, [actions]),
  );
  return tr;
}

function upsert(c) {
  const existing = rows.get(c.id);
  if (c.status === "ended") {
    if (existing) {
      existing.tr.remove();
      rows.delete(c.id);
    }
    refresh();
    return;
  }
  const tr = render(c);
  if (existing) {
    // Keep a half-made choice of agent across live updates.
    tr.querySelector("select").value = existing.tr.querySelector("select").value;
    if (!tr.querySelector("select").value) tr.querySelector("select").value = "";
    existing.tr.replaceWith(tr);
  }
  else {
    // Oldest first: whoever has waited longest is at the top.
    const next = [...rows.values()].find((r) => r.conversation.created_at > c.created_at);
    tbody.insertBefore(tr, next ? next.tr : null);
  }
  rows.set(c.id, { conversation: c, tr });
  refresh();
}

function refresh() {
  const all = [...rows.values()].map((r) => r.conversation);
  const waiting = all.filter((c) => c.status === "waiting").length;
  summary.textContent = `${all.length} live · ${waiting} waiting`;
  empty.hidden = all.length > 0;
  // inbox: each channel's live conversations and the admin's unread messages in the filter.
  const live = (channel) => {
    const n = all.filter((c) => !channel || (c.channel || "web") === channel).length;
    return n ? `${n} live` : "";
  };
  renderChannelFilter(channelFilter, unreadCounts.totals(), live);
}

// inbox: filter by channel; keep the unread badges live.
channelFilter.addEventListener("change", () => {
  for (const { conversation } of [...rows.values()]) upsert(conversation);
});
client.addEventListener("unread", (event) => {
  unreadCounts.update(event.detail);
  const row = rows.get(event.detail.conversation_id);
  if (row) upsert(row.conversation);
  else refresh();
});

async function assign(id, userId) {
  showError("");
  if (!userId) {
    showError("Choose an agent to assign first.");
    return;
  }
  try {
    upsert(
      await api(`/api/v1/conversations/${id}/participants`, {
        method: "POST",
        body: { user_id: userId, role: "agent" },
      }),
    );
  } catch (error) {
    showError(`Could not assign: ${error.message}`);
  }
}

async function observe(id) {
  showError("");
  try {
    await api(`/api/v1/conversations/${id}/observe`, { method: "POST" });
    location.assign(`/chat/${encodeURIComponent(id)}`);
  } catch (error) {
    showError(`Could not observe: ${error.message}`);
  }
}

async function end(c) {
  showError("");
  document.getElementById("end-dialog-text").textContent =
    `“${title(c)}” ends for everyone. Nobody can send messages after that.`;
  endDialog.returnValue = "";
  endDialog.showModal();
  const choice = await new Promise((resolve) =>
    endDialog.addEventListener("close", () => resolve(endDialog.returnValue), { once: true }),
  );
  if (choice !== "end") return;
  try {
    upsert(await api(`/api/v1/conversations/${c.id}/end`, { method: "POST", body: {} }));
  } catch (error) {
    showError(`Could not end: ${error.message}`);
  }
}

// After a reconnect, events sent while away are gone: read the list again.
async function resync() {
  try {
    const [waiting, active] = await Promise.all([
      api("/api/v1/conversations?scope=all&status=waiting&limit=200"),
      api("/api/v1/conversations?scope=all&status=active&limit=200"),
    ]);
    const live = [...waiting.conversations, ...active.conversations];
    const ids = new Set(live.map((c) => c.id));
    for (const [id, row] of [...rows]) {
      if (!ids.has(id)) {
        row.tr.remove();
        rows.delete(id);
      }
    }
    unreadCounts.refresh(live).catch(() => {}); // inbox
    for (const c of live) upsert(c);
  } catch {
    // the next reconnect tries again
  }
}

client.addEventListener("conversation", (event) => upsert(event.detail.conversation));
client.addEventListener("ready", () => {
  if (connectedOnce) resync();
  connectedOnce = true;
});
client.addEventListener("unauthorized", () => {
  location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
});

setInterval(() => {
  for (const { conversation, tr } of rows.values()) {
    tr.querySelector("[data-waiting]").replaceChildren(waitingCell(conversation));
  }
}, 15000);

for (const c of data.conversations) upsert(c);
refresh();
client.connect();
