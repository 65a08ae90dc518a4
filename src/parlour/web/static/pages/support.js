// The support chat: /support on our own site, and the widget's panel (/support/embed, in an
// iframe on the tenant's sites). A visitor writes a first message and becomes a guest; the
// guest's token stays in this origin's storage (the host page cannot read it), so a reload
// brings the visitor back to the same conversation. After it ends, writing again starts a new
// conversation linked to the earlier one.

import { ChatRoom } from "../chat-room.js";
import { ApiError, ParlourClient, api, newClientMsgId } from "../parlour.js";
import { pageData } from "../ui.js";

const data = pageData();
const KEY = `parlour.support.${data.tenant}`;
const START = `/api/v1/support/conversations?tenant=${encodeURIComponent(data.tenant)}`;

const startCard = document.getElementById("support-start");
const form = document.getElementById("support-form");
const errorLine = document.getElementById("support-error");
const sendButton = document.getElementById("support-send");
const roomRoot = document.getElementById("support-root");
const again = document.getElementById("support-again");
const againButton = document.getElementById("support-again-button");

let client = null;
let room = null;

// Where the guest's credential is kept: this frame's own localStorage. A browser that blocks
// storage in third-party frames (third-party cookies blocked) refuses it there; the panel then
// asks the widget script on the host page to keep it (postMessage, only to and from the
// tenant's listed sites), which trades the frame's isolation of the token for a chat that
// survives a reload. docs/support-desk.md says why.
const RELAY_TIMEOUT_MS = 1500;
const relayed = data.embedded && window.parent !== window;
let memory = null; // the state when no storage works at all

function frameStorage() {
  try {
    const storage = window.localStorage;
    storage.getItem(KEY);
    return storage;
  } catch {
    return null;
  }
}

function toParent(message) {
  for (const origin of data.widget_origins || []) {
    window.parent.postMessage({ source: "parlour-support", tenant: data.tenant, ...message }, origin);
  }
}

function fromParent(timeoutMs) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(null), timeoutMs);
    function done(value) {
      clearTimeout(timer);
      window.removeEventListener("message", onMessage);
      resolve(value);
    }
    function onMessage(event) {
      const message = event.data;
      if (event.source !== window.parent) return;
      if (!(data.widget_origins || []).includes(event.origin)) return;
      if (!message || message.source !== "parlour-widget" || message.type !== "state") return;
      done(typeof message.value === "string" ? message.value : null);
    }
    window.addEventListener("message", onMessage);
    toParent({ type: "load" });
  });
}

function parse(raw) {
  try {
    const saved = JSON.parse(raw || "null");
    return saved && saved.token && saved.me ? saved : null;
  } catch {
    return null;
  }
}

async function load() {
  const storage = frameStorage();
  if (storage) return parse(storage.getItem(KEY));
  if (relayed) return parse(await fromParent(RELAY_TIMEOUT_MS));
  return memory;
}

function save(saved) {
  const storage = frameStorage();
  if (storage) storage.setItem(KEY, JSON.stringify(saved));
  else if (relayed) toParent({ type: "save", value: JSON.stringify(saved) });
  memory = saved;
}

function forget() {
  const storage = frameStorage();
  if (storage) storage.removeItem(KEY);
  else if (relayed) toParent({ type: "forget" });
  memory = null;
}

function showStart({ returning = false } = {}) {
  closeRoom();
  startCard.hidden = false;
  again.hidden = true;
  roomRoot.hidden = true;
  // A returning visitor is known already: only the message is asked for.
  startCard.querySelector("[data-ref=contact]").hidden = returning;
  startCard.querySelector("[data-ref=heading]").textContent = returning
    ? "Write to us again"
    : "How can we help?";
  // In the widget's frame, taking focus on load would pull it away from the host page.
  if (!data.embedded || returning) form.elements.message.focus();
}

function closeRoom() {
  if (client) client.close();
  client = null;
  room = null;
}

function openRoom(saved, conversation) {
  closeRoom();
  startCard.hidden = true;
  roomRoot.hidden = false;
  client = new ParlourClient({ token: saved.token });
  room = new ChatRoom({
    client,
    me: saved.me,
    conversation,
    token: saved.token,
    staffLabel: data.staff_label,
    maxChars: data.max_chars,
  });
  room.open(roomRoot);
  const showAgain = (view) => {
    again.hidden = view.status !== "ended";
  };
  showAgain(conversation);
  client.addEventListener("conversation", (event) => {
    if (event.detail.conversation.id === conversation.id) showAgain(event.detail.conversation);
  });
  client.addEventListener("unauthorized", () => {
    // The guest's token expired or was revoked: start again as a new visitor.
    forget();
    showStart();
  });
  client.connect();
}

function value(name) {
  const field = form.elements[name];
  return field && field.value.trim() ? field.value.trim() : undefined;
}

async function start(event) {
  event.preventDefault();
  const message = value("message");
  if (!message) {
    errorLine.textContent = "Write a message first.";
    errorLine.hidden = false;
    return;
  }
  const saved = await load();
  const body = { message, client_msg_id: newClientMsgId() };
  if (!saved) {
    for (const name of ["display_name", "email", "phone"]) {
      if (value(name)) body[name] = value(name);
    }
  }
  sendButton.disabled = true;
  errorLine.hidden = true;
  try {
    // Never the Parlour session cookie: the chat belongs to this visitor's guest (or to the
    // guest kept here), whoever happens to be signed in to Parlour in this browser.
    const result = await api(START, {
      method: "POST",
      body,
      token: saved ? saved.token : null,
      credentials: "omit",
    });
    const next = result.credential
      ? {
          token: result.credential.access_token,
          me: {
            id: result.credential.user.id,
            role: result.credential.user.role,
            display_name: result.credential.user.display_name,
          },
        }
      : saved;
    next.conversation_id = result.conversation.id;
    save(next);
    form.reset();
    openRoom(next, result.conversation);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && saved) {
      forget(); // an expired guest: the form starts a new one
      showStart();
    }
    errorLine.textContent = error.message;
    errorLine.hidden = false;
  } finally {
    sendButton.disabled = false;
  }
}

async function resume() {
  const saved = await load();
  if (!saved || !saved.conversation_id) {
    showStart();
    return;
  }
  try {
    const conversation = await api(`/api/v1/conversations/${saved.conversation_id}`, {
      token: saved.token,
    });
    openRoom(saved, conversation);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) forget();
    showStart();
  }
}

form.addEventListener("submit", start);
againButton.addEventListener("click", () => showStart({ returning: true }));
resume();
