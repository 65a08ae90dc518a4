// Parlour's browser client: the REST helper and the realtime connection.
//
// One WebSocket carries any number of conversations. The client keeps the last seq it has
// delivered per conversation, so every message is handed to the page exactly once and in
// order: duplicates are dropped, a gap makes it resubscribe from the last seq, and after a
// dropped connection it reconnects by itself (exponential backoff with jitter) and resumes
// every subscription where it left off. Used by the pages and, later, the embeddable widget.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** Call the REST API; resolves with the JSON body, rejects with an ApiError. */
export async function api(
  path,
  { method = "GET", body, token, base = "", credentials = undefined } = {},
) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // A bearer token is the credential: the cookie is not sent (nor is it for "omit").
      credentials: credentials || (token ? "omit" : "same-origin"),
    });
  } catch {
    throw new ApiError(0, "network", "Could not reach the server. Check your connection.");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(
      response.status,
      error.code || "http_error",
      error.message || `The request failed (${response.status}).`,
    );
  }
  return data;
}

/** A fresh idempotency key for a message; a retry of the same message reuses it. */
export function newClientMsgId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") {
    return `c-${crypto.randomUUID()}`;
  }
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes); // available outside secure contexts too
  return `c-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

// Close codes after which reconnecting cannot help.
const FATAL_CLOSE = new Map([
  [4001, "unauthorized"],
  [4003, "origin"],
]);

/**
 * The realtime connection.
 *
 * Events (CustomEvent, the frame in `detail`): `ready`, `message` (each new message of a
 * subscribed conversation, once, in seq order), `conversation`, `typing`, `read`, `error`
 * (errors not tied to a request), `state` ({state, attempt, delay}), `unauthorized`.
 */
export class ParlourClient extends EventTarget {
  constructor({
    url,
    token,
    ackTimeoutMs = 10000,
    pingIntervalMs = 20000,
    pongTimeoutMs = 8000,
    minBackoffMs = 500,
    maxBackoffMs = 15000,
  } = {}) {
    super();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.token = token || null;
    // With a token of its own, the client authenticates by its first frame and says so, so the
    // server does not take it for whoever this browser's session cookie belongs to.
    this.url =
      url || `${scheme}://${location.host}/api/v1/realtime${this.token ? "?auth=frame" : ""}`;
    this.ackTimeoutMs = ackTimeoutMs;
    this.pingIntervalMs = pingIntervalMs;
    this.pongTimeoutMs = pongTimeoutMs;
    this.minBackoffMs = minBackoffMs;
    this.maxBackoffMs = maxBackoffMs;
    this.state = "idle"; // idle | connecting | open | reconnecting | closed
    this.user = null;
    this.attempt = 0;
    this.subs = new Map(); // conversation id -> {lastSeq, resyncing, waiters}
    this.pending = new Map(); // ref -> {resolve, reject, timer}
    this.ws = null;
    this.nextRef = 1;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.onOnline = () => this.state === "reconnecting" && this.#reconnectNow();
    this.onOffline = () => this.ws && this.#drop("offline");
    // Leaving the page (a link, the logout form): close first, so that the server closing this
    // socket as the page logs out (4001) does not send the page to the login form instead.
    this.onLeave = () => this.state !== "closed" && this.state !== "idle" && this.close();
  }

  /** Open the connection (it then stays open, reconnecting as needed, until close()). */
  connect() {
    if (this.state !== "idle" && this.state !== "closed") return;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("beforeunload", this.onLeave);
    this.#open();
  }

  /** Close for good: no more reconnects. */
  close() {
    this.#setState("closed");
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("beforeunload", this.onLeave);
    clearTimeout(this.retryTimer);
    this.#stopHeartbeat();
    if (this.ws) {
      this.#detach(this.ws);
      this.ws.close(1000, "bye");
      this.ws = null;
    }
    this.#failPending("closed", "The connection was closed.");
  }

  get isOpen() {
    return this.state === "open";
  }

  /** The last seq delivered for a conversation (null before its first subscribe). */
  lastSeq(conversationId) {
    const sub = this.subs.get(conversationId);
    return sub ? sub.lastSeq : null;
  }

  /**
   * Receive a conversation's messages after `afterSeq` (omitted: from now on). Resolves once
   * the backlog has been delivered. Subscribing again keeps the position already reached.
   */
  subscribe(conversationId, { afterSeq } = {}) {
    let sub = this.subs.get(conversationId);
    if (!sub) {
      sub = { lastSeq: afterSeq ?? null, resyncing: false, waiters: [] };
      this.subs.set(conversationId, sub);
    } else if (sub.lastSeq === null && afterSeq !== undefined) {
      sub.lastSeq = afterSeq;
    } else if (this.isOpen) {
      return Promise.resolve({ conversation_id: conversationId, last_seq: sub.lastSeq });
    }
    const done = new Promise((resolve, reject) => sub.waiters.push({ resolve, reject }));
    if (this.isOpen) this.#sendSubscribe(conversationId, sub);
    return done;
  }

  unsubscribe(conversationId) {
    const sub = this.subs.get(conversationId);
    if (!sub) return;
    this.subs.delete(conversationId);
    for (const w of sub.waiters) w.reject(new ApiError(0, "unsubscribed", "Unsubscribed."));
    if (this.isOpen) this.#write({ type: "unsubscribe", conversation_id: conversationId });
  }

  /**
   * Send a text message (and `attachmentIds` of uploaded files). Resolves with the stored message once the server acknowledged it
   * (after commit); rejects with an ApiError on an error, a timeout or a lost connection.
   * Retrying with the same `clientMsgId` can never store the message twice.
   */
  async send(conversationId, body, { clientMsgId = newClientMsgId(), attachmentIds = [] } = {}) {
    if (!this.isOpen) await this.#whenOpen(this.ackTimeoutMs);
    const ref = `s${this.nextRef++}`;
    const result = this.#expect(ref, this.ackTimeoutMs, "The server did not confirm in time.");
    const frame = {
      type: "send",
      ref,
      conversation_id: conversationId,
      client_msg_id: clientMsgId,
      kind: "text",
      body,
    };
    // Ids from POST /api/v1/attachments (attachments.js), at most 10.
    if (attachmentIds.length) frame.attachment_ids = attachmentIds;
    this.#write(frame);
    return result;
  }

  /** Tell the others whether we are typing (ephemeral; dropped when offline). */
  typing(conversationId, active) {
    if (this.isOpen) this.#write({ type: "typing", conversation_id: conversationId, active });
  }

  /** Move our read pointer forward to `seq` (read receipts, unread counts). */
  markRead(conversationId, seq) {
    if (this.isOpen) this.#write({ type: "read", conversation_id: conversationId, seq });
  }

  /**
   * video: a WebRTC signaling frame (`hello`, `description`, `candidate`, `hangup`) for the
   * call's other party; the server relays it and keeps nothing. False when not sent (offline).
   */
  signal(conversationId, frame) {
    if (!this.isOpen) return false;
    this.#write({ ...frame, type: "signal", conversation_id: conversationId });
    return true;
  }

  // -- connection ---------------------------------------------------------------------------

  #open() {
    this.#setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.token) ws.send(JSON.stringify({ type: "auth", token: this.token }));
    };
    ws.onmessage = (event) => this.#receive(event.data);
    ws.onclose = (event) => this.#closed(event.code, event.reason);
    ws.onerror = () => {}; // a close event always follows
  }

  #detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
  }

  // Give up on the current socket at once (a dead network may never deliver its close event).
  #drop(reason) {
    const ws = this.ws;
    if (!ws) return;
    this.#detach(ws);
    try {
      ws.close(4000, reason);
    } catch {
      // already closing
    }
    this.#closed(1006, reason);
  }

  #closed(code, reason) {
    this.ws = null;
    this.#stopHeartbeat();
    this.#failPending("disconnected", "The connection dropped before the server confirmed.");
    for (const sub of this.subs.values()) sub.resyncing = false;
    if (this.state === "closed") return;
    const fatal = FATAL_CLOSE.get(code);
    if (fatal) {
      this.#setState("closed");
      this.#emit(fatal === "unauthorized" ? "unauthorized" : "error", {
        code: fatal,
        message: reason || "The connection was refused.",
      });
      return;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    this.attempt += 1;
    const ceiling = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** (this.attempt - 1));
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.#setState("reconnecting", delay);
    clearTimeout(this.retryTimer);
    // While the browser knows it is offline, wait for its "online" event instead.
    if (navigator.onLine === false) return;
    this.retryTimer = setTimeout(() => this.#open(), delay);
  }

  #reconnectNow() {
    if (this.ws) return;
    clearTimeout(this.retryTimer);
    this.#open();
  }

  #ready(frame) {
    this.attempt = 0;
    this.user = { id: frame.user_id, role: frame.role, tenant_id: frame.tenant_id };
    this.#setState("open");
    this.#startHeartbeat();
    for (const [conversationId, sub] of this.subs) this.#sendSubscribe(conversationId, sub);
    this.#emit("ready", frame);
  }

  #sendSubscribe(conversationId, sub) {
    const frame = { type: "subscribe", conversation_id: conversationId, ref: `sub:${conversationId}` };
    if (sub.lastSeq !== null) frame.after_seq = sub.lastSeq;
    this.#write(frame);
  }

  #startHeartbeat() {
    this.#stopHeartbeat();
    this.pingTimer = setInterval(() => {
      if (!this.isOpen || this.pongTimer) return;
      this.#write({ type: "ping", ref: "ping" });
      this.pongTimer = setTimeout(() => this.#drop("no pong"), this.pongTimeoutMs);
    }, this.pingIntervalMs);
  }

  #stopHeartbeat() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }

  #write(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  #setState(state, delay = 0) {
    this.state = state;
    this.#emit("state", { state, attempt: this.attempt, delay });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // A connection on its way up is worth a short wait; a browser that is offline is not.
  #whenOpen(timeoutMs) {
    if (this.isOpen) return Promise.resolve();
    if (this.state === "closed" || this.state === "idle" || navigator.onLine === false) {
      return Promise.reject(
        new ApiError(0, "offline", "You are offline, so the message was not sent."),
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.removeEventListener("ready", ready);
        reject(new ApiError(0, "offline", "Could not reach the server, so the message was not sent."));
      }, timeoutMs);
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      this.addEventListener("ready", ready, { once: true });
    });
  }

  // -- requests that wait for an answer ------------------------------------------------------

  #expect(ref, timeoutMs, timeoutMessage) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new ApiError(0, "timeout", timeoutMessage));
      }, timeoutMs);
      this.pending.set(ref, { resolve, reject, timer });
    });
  }

  #settle(ref, error, value) {
    const waiter = this.pending.get(ref);
    if (!waiter) return false;
    this.pending.delete(ref);
    clearTimeout(waiter.timer);
    if (error) waiter.reject(error);
    else waiter.resolve(value);
    return true;
  }

  #failPending(code, message) {
    for (const ref of [...this.pending.keys()]) this.#settle(ref, new ApiError(0, code, message));
  }

  // -- frames from the server ----------------------------------------------------------------

  #receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    switch (frame.type) {
      case "ready":
        this.#ready(frame);
        break;
      case "message":
        this.#message(frame);
        break;
      case "subscribed":
        this.#subscribed(frame);
        break;
      case "ack":
        this.#settle(frame.ref, null, frame.message);
        break;
      case "pong":
        clearTimeout(this.pongTimer);
        this.pongTimer = null;
        break;
      case "error":
        this.#error(frame);
        break;
      default:
        this.#emit(frame.type, frame);
    }
  }

  #message(frame) {
    const sub = this.subs.get(frame.conversation_id);
    if (!sub) return;
    const seq = frame.message.seq;
    if (sub.lastSeq !== null && seq <= sub.lastSeq) return; // seen already
    if (sub.lastSeq !== null && seq > sub.lastSeq + 1) {
      // A gap: ask again from the last seq we have; the server replays in order.
      if (!sub.resyncing) {
        sub.resyncing = true;
        this.#sendSubscribe(frame.conversation_id, sub);
      }
      return;
    }
    sub.lastSeq = seq;
    this.#emit("message", frame);
  }

  #subscribed(frame) {
    const sub = this.subs.get(frame.conversation_id);
    if (!sub) return;
    sub.resyncing = false;
    if (sub.lastSeq === null || frame.last_seq > sub.lastSeq) sub.lastSeq = frame.last_seq;
    for (const w of sub.waiters.splice(0)) w.resolve(frame);
  }

  #error(frame) {
    const error = new ApiError(0, frame.code, frame.message);
    if (frame.ref && this.#settle(frame.ref, error)) return;
    if (frame.ref && frame.ref.startsWith("sub:")) {
      const conversationId = frame.ref.slice(4);
      const sub = this.subs.get(conversationId);
      if (sub) {
        this.subs.delete(conversationId);
        for (const w of sub.waiters.splice(0)) w.reject(error);
      }
    }
    this.#emit("error", frame);
  }
}
