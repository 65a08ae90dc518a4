// One conversation on screen: history (scrolling up loads older messages), live messages,
// typing, read receipts, the status banner and the composer. Used by the chat page and the
// agent's inbox pane; the markup comes from the #chat-room-template <template>.

import { MAX_FILES, attachmentList, fileSize, uploadAttachment } from "./attachments.js";
import { channelLabel, viaLabel } from "./channels.js"; // inbox
import { CannedPicker } from "./canned.js";
import { Countdown } from "./countdown.js"; // timing
import { api, newClientMsgId } from "./parlour.js";
import { RatingForm } from "./rating-form.js"; // timing
import { TranscriptLinks } from "./transcript-links.js"; // timing
import {
  STATUS_LABEL,
  el,
  endedText,
  fromTemplate,
  richText,
  shortTime,
  withArticle,
} from "./ui.js";

const PAGE = 50;
const NEAR_BOTTOM_PX = 80;
const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;
const TYPING_SHOWN_MS = 6000;
const RECONNECTING_GRACE_MS = 800;
const POSTING_ROLES = new Set(["customer", "agent", "bot"]);

/** How `me` takes part in a conversation: may they post, and may they end it. */
export function viewerFor(conversation, me) {
  const part = conversation.participants.find((p) => p.user_id === me.id);
  const present = Boolean(part && !part.left_at);
  const posts = present && part.role !== "observer";
  const mayEnd =
    me.role === "admin" || (posts && (part.role === "customer" || part.role === "agent"));
  return { mode: posts ? "participant" : "observer", role: part ? part.role : null, mayEnd };
}

export class ChatRoom {
  constructor({
    client,
    me,
    conversation,
    staffLabel = "expert",
    maxChars = 4000,
    back = null,
    callLink = true,
    token = null, // a bearer token (the support widget's guest), instead of the cookie
  }) {
    this.client = client;
    this.callLink = callLink; // video: offer the conversation's call page when it has one
    this.callCheckedFor = null;
    this.token = token;
    this.me = me;
    this.id = conversation.id;
    this.staffLabel = staffLabel;
    this.back = back;
    const { root, refs } = fromTemplate("chat-room-template");
    this.root = root;
    this.refs = refs;
    this.refs.input.maxLength = maxChars;
    this.messages = new Map(); // seq -> message
    this.items = new Map(); // seq -> <li>
    this.lastSeq = 0;
    this.hasMore = false;
    this.loadingOlder = false;
    this.buffer = []; // live messages that arrive while the history is loading
    this.readBy = new Map(); // user id -> last read seq (read receipts)
    this.readSent = 0;
    this.typers = new Map(); // user id -> {name, timer}
    this.typingSentAt = 0;
    this.typingIdle = null;
    this.pendingBody = null; // the unsent text and its idempotency key, reused on retry
    this.pendingId = null;
    this.files = []; // {file, id}: chosen to go with the next message (id once uploaded)
    this.canned = null;
    this.sending = false;
    this.connTimer = null;
    this.cleanups = [];
    this.#apply(conversation);
  }

  /** Put the room into `container`, show `history` (or fetch it), then follow live. */
  async open(container, history = null) {
    container.replaceChildren(this.root);
    this.#bindUi();
    this.#listen();
    this.#showConnection(this.client.state);
    if (!history) {
      try {
        history = await api(`/api/v1/conversations/${this.id}/messages?limit=${PAGE}`, {
          token: this.token,
        });
      } catch (error) {
        this.#showBanner(`Could not load the conversation: ${error.message}`, "error");
        return;
      }
    }
    this.hasMore = history.has_more;
    this.#insert(history.messages);
    const early = this.buffer;
    this.buffer = null;
    this.#insert(early);
    this.#renderEdge();
    this.#scrollToBottom();
    this.client.subscribe(this.id, { afterSeq: this.lastSeq }).catch((error) => {
      this.#showBanner(`Live updates are unavailable: ${error.message}`, "error");
    });
    this.#maybeMarkRead();
    if (this.viewer.mode === "participant" && this.status !== "ended") this.refs.input.focus();
    // timing: the time limit's countdown, the customer's rating form after the end, and
    // transcript downloads.
    this.extras = [
      new Countdown({
        client: this.client,
        conversation: this.conversation,
        node: this.refs.countdown,
      }),
      new RatingForm({
        client: this.client,
        conversation: this.conversation,
        me: this.me,
        node: this.refs.rating,
      }),
      new TranscriptLinks({ conversationId: this.id, node: this.refs.transcript }),
    ];
    for (const extra of this.extras) extra.start();
  }

  // video: a link to /call/{id} when the viewer is one of the conversation's call parties (the
  // server decides: kind in the tenant's call_kinds, customer or current agent, not ended).
  async #offerCall() {
    const { role, mode } = this.viewer;
    const party = mode === "participant" && (role === "customer" || role === "agent");
    if (!this.callLink || !party || this.status === "ended") {
      this.refs.call.hidden = true;
      return;
    }
    if (this.callCheckedFor === role) return; // asked once per way of taking part
    this.callCheckedFor = role;
    try {
      await api(`/api/v1/conversations/${this.id}/call`, { token: this.token });
    } catch {
      return; // no call here
    }
    this.refs.call.href = `/call/${this.id}`;
    this.refs.call.hidden = this.status === "ended";
  }

  // The other party opened the call page: say so on the link.
  #callHello(frame) {
    if (!this.callLink || frame.signal !== "hello" || frame.to || this.refs.call.hidden) return;
    const who = this.names.get(frame.from_user_id) || "The other side";
    this.refs.call.textContent = `Join the video call (${who} is there)`;
    this.refs.call.className = "btn btn-primary btn-small";
  }

  /** Stop listening (the agent pane opens another conversation). */
  destroy() {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const extra of this.extras || []) extra.destroy(); // timing
    clearTimeout(this.connTimer);
    clearTimeout(this.typingIdle);
    for (const typer of this.typers.values()) clearTimeout(typer.timer);
    this.root.remove();
  }

  // -- conversation state --------------------------------------------------------------------

  #apply(conversation) {
    this.conversation = conversation;
    this.status = conversation.status;
    this.viewer = viewerFor(conversation, this.me);
    this.names = new Map(conversation.participants.map((p) => [p.user_id, p.display_name]));
    this.roles = new Map(conversation.participants.map((p) => [p.user_id, p.role]));
    for (const p of conversation.participants) this.#noteRead(p.user_id, p.last_read_seq);
    this.#renderHeader();
    this.#renderBanner();
    this.#renderComposer();
    this.#renderReceipt();
    this.#offerCall();
  }

  #renderHeader() {
    const c = this.conversation;
    const { refs } = this;
    refs.title.textContent = c.subject || "Support conversation";
    refs.status.textContent = STATUS_LABEL[c.status] || c.status;
    refs.status.className = `pill pill-${c.status}`;
    const agents = c.participants.filter((p) => p.role === "agent" && !p.left_at);
    const customer = c.participants.find((p) => p.role === "customer");
    if (this.me.role === "customer") {
      refs.meta.textContent = agents.length
        ? `With ${agents.map((p) => p.display_name).join(", ")}`
        : `Waiting for ${withArticle(this.staffLabel)}`;
    } else {
      const parts = [customer ? customer.display_name : "Customer", c.kind];
      if (c.channel && c.channel !== "web") parts.push(`via ${channelLabel(c.channel)}`); // inbox
      if (agents.length) parts.push(`with ${agents.map((p) => p.display_name).join(", ")}`);
      refs.meta.textContent = parts.join(" · ");
    }
    refs.end.hidden = !(this.viewer.mayEnd && c.status !== "ended");
    if (c.status === "ended") refs.call.hidden = true;
    if (this.back) {
      refs.back.hidden = false;
      refs.back.href = this.back.href;
      refs["back-text"].textContent = this.back.text;
    }
  }

  #renderBanner() {
    const c = this.conversation;
    if (c.status === "ended") {
      const why =
        c.end_reason === "cancelled" && this.cancelNote
          ? this.cancelNote
          : endedText(c, { me: this.me.id, staffLabel: this.staffLabel, names: this.names });
      this.#showBanner(`This conversation has ended. ${why}`, "ended");
    } else if (this.viewer.mode === "observer") {
      this.#showBanner("You are observing. This conversation is read-only.", "observing");
    } else if (c.status === "waiting") {
      this.#showBanner(`Waiting for ${withArticle(this.staffLabel)} to join…`, "waiting");
    } else {
      this.refs.banner.hidden = true;
    }
  }

  #showBanner(text, kind) {
    const { banner } = this.refs;
    banner.textContent = text;
    banner.className = `banner banner-${kind}`;
    banner.hidden = false;
  }

  #renderComposer() {
    const { refs } = this;
    if (this.viewer.mode !== "participant") {
      refs.composer.remove();
      return;
    }
    const ended = this.status === "ended";
    refs.input.disabled = ended;
    refs.send.disabled = ended || this.sending;
    refs.attach.disabled = ended || this.sending;
    refs.input.placeholder = ended ? "This conversation has ended" : "Write a message…";
    refs.hint.hidden = ended;
    if (ended) this.#hideError();
  }

  // -- messages ------------------------------------------------------------------------------

  #insert(messages) {
    const atBottom = this.#nearBottom();
    let incoming = false;
    for (const m of messages) {
      if (this.messages.has(m.seq)) continue;
      this.messages.set(m.seq, m);
      // appointments: a cancelled appointment's chat names who cancelled and why.
      if (m.meta && m.meta.event === "appointment_cancelled") this.cancelNote = m.body;
      const li = this.#renderMessage(m);
      this.items.set(m.seq, li);
      this.#place(li, m.seq);
      if (m.seq > this.lastSeq) {
        this.lastSeq = m.seq;
        if (m.sender_id && m.sender_id !== this.me.id) {
          incoming = true;
          this.#stopShowingTyper(m.sender_id);
        }
      }
      if (m.sender_id) this.#noteRead(m.sender_id, m.seq); // a sender has read up to here
    }
    this.#renderReceipt();
    this.#revealFound(); // search:
    return { atBottom, incoming };
  }

  // search: a search result links to `#seq-N`: mark that message and bring it into view
  // once it is on the page (after the list has scrolled where it scrolls by itself).
  #revealFound() {
    const match = /^#seq-(\d+)$/.exec(location.hash);
    const li = match && !this.revealed ? this.items.get(Number(match[1])) : null;
    if (!li) return;
    this.revealed = true;
    li.classList.add("msg-found");
    setTimeout(() => li.scrollIntoView({ block: "center" }), 0);
  }

  // Keep the list in seq order whatever order messages arrive in.
  #place(li, seq) {
    const { list } = this.refs;
    let after = list.lastElementChild;
    while (after && Number(after.dataset.seq) > seq) after = after.previousElementSibling;
    if (after) after.after(li);
    else list.prepend(li);
    this.#group(li);
    if (li.nextElementSibling) this.#group(li.nextElementSibling);
  }

  // Consecutive messages from one sender share one name label.
  #group(li) {
    const prev = li.previousElementSibling;
    const same = prev && li.dataset.sender && prev.dataset.sender === li.dataset.sender;
    li.classList.toggle("msg-continued", Boolean(same));
  }

  #renderMessage(m) {
    const system = m.kind === "system" || !m.sender_id;
    const own = !system && m.sender_id === this.me.id;
    const li = el("li", { cls: `msg ${system ? "msg-system" : own ? "msg-own" : "msg-other"}` });
    li.dataset.seq = String(m.seq);
    const time = el("time", { text: shortTime(m.created_at), attrs: { datetime: m.created_at } });
    if (system) {
      li.append(el("p", { cls: "msg-body" }, [richText(m.body)]), time);
      return li;
    }
    li.dataset.sender = m.sender_id;
    const author = own ? "You" : this.names.get(m.sender_id) || "Former participant";
    const bubble = el("div", { cls: "msg-bubble" });
    if (m.body) bubble.append(el("p", { cls: "msg-body" }, [richText(m.body)]));
    if (m.attachments && m.attachments.length) {
      bubble.append(attachmentList(m.attachments, this.#fileAccess()));
    }
    li.append(
      el("span", { cls: own ? "msg-author visually-hidden" : "msg-author", text: author }),
      bubble,
      el("span", { cls: "msg-meta" }, [time, ...[viaLabel(m)].filter(Boolean)]), // inbox: "via WhatsApp"
    );
    return li;
  }

  #live(message) {
    if (this.buffer) {
      this.buffer.push(message);
      return;
    }
    const own = message.sender_id === this.me.id;
    const { atBottom, incoming } = this.#insert([message]);
    if (own || atBottom) this.#scrollToBottom();
    else if (incoming) this.refs.jump.hidden = false;
    if (incoming) {
      const who = this.names.get(message.sender_id) || "Someone";
      const files = (message.attachments || []).length;
      const text = message.body.slice(0, 200) || `${files} file${files === 1 ? "" : "s"}`;
      this.refs.announce.textContent = `${who}: ${text}`;
    }
    this.#maybeMarkRead();
  }

  async #loadOlder() {
    if (this.loadingOlder || !this.hasMore || this.messages.size === 0) return;
    this.loadingOlder = true;
    this.#renderEdge();
    const oldest = Math.min(...this.messages.keys());
    const { scroll } = this.refs;
    try {
      const page = await api(
        `/api/v1/conversations/${this.id}/messages?before_seq=${oldest}&limit=${PAGE}`,
        { token: this.token },
      );
      const fromBottom = scroll.scrollHeight - scroll.scrollTop;
      this.hasMore = page.has_more;
      this.#insert(page.messages);
      scroll.scrollTop = scroll.scrollHeight - fromBottom; // keep the reader's place
    } catch (error) {
      this.refs.edge.textContent = `Could not load earlier messages: ${error.message}`;
      this.loadingOlder = false;
      return;
    }
    this.loadingOlder = false;
    this.#renderEdge();
    if (this.hasMore && scroll.scrollTop < NEAR_BOTTOM_PX) this.#loadOlder();
  }

  #renderEdge() {
    const { edge } = this.refs;
    if (this.loadingOlder) {
      edge.textContent = "Loading earlier messages…";
    } else if (this.hasMore) {
      const button = el("button", { cls: "btn btn-quiet btn-small", text: "Load earlier messages" });
      button.type = "button";
      button.addEventListener("click", () => this.#loadOlder());
      edge.replaceChildren(button);
    } else {
      edge.textContent = "This is the start of the conversation.";
    }
  }

  // -- read receipts -------------------------------------------------------------------------

  #noteRead(userId, seq) {
    if ((this.readBy.get(userId) || 0) < seq) this.readBy.set(userId, seq);
  }

  // "Seen" under my newest message that someone else taking part has read.
  #renderReceipt() {
    if (!this.refs) return;
    let seen = 0;
    for (const [userId, seq] of this.readBy) {
      if (userId !== this.me.id && POSTING_ROLES.has(this.roles.get(userId))) {
        seen = Math.max(seen, seq);
      }
    }
    let target = null;
    for (let li = this.refs.list.lastElementChild; li; li = li.previousElementSibling) {
      if (li.classList.contains("msg-own") && Number(li.dataset.seq) <= seen) {
        target = li;
        break;
      }
    }
    const current = this.refs.list.querySelector(".msg-seen");
    if (current && current.closest("li") === target) return;
    if (current) current.remove();
    if (target) target.querySelector(".msg-meta").append(el("span", { cls: "msg-seen", text: "Seen" }));
  }

  #maybeMarkRead() {
    if (!this.viewer.role || document.visibilityState !== "visible") return;
    if (this.lastSeq <= this.readSent || !this.client.isOpen || !this.#nearBottom()) return;
    this.readSent = this.lastSeq;
    this.client.markRead(this.id, this.lastSeq);
  }

  // -- typing --------------------------------------------------------------------------------

  #typed() {
    if (this.viewer.mode !== "participant" || this.status === "ended") return;
    const now = Date.now();
    if (now - this.typingSentAt > TYPING_REPEAT_MS) {
      this.typingSentAt = now;
      this.client.typing(this.id, true);
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.#stopTyping(), TYPING_IDLE_MS);
  }

  #stopTyping() {
    clearTimeout(this.typingIdle);
    if (this.typingSentAt) {
      this.typingSentAt = 0;
      this.client.typing(this.id, false);
    }
  }

  #someoneTyping(frame) {
    if (frame.user_id === this.me.id) return;
    this.#stopShowingTyper(frame.user_id);
    if (frame.active) {
      const timer = setTimeout(() => this.#stopShowingTyper(frame.user_id), TYPING_SHOWN_MS);
      const name = frame.display_name || this.names.get(frame.user_id) || "Someone";
      this.typers.set(frame.user_id, { name, timer });
    }
    this.#renderTyping();
  }

  #stopShowingTyper(userId) {
    const typer = this.typers.get(userId);
    if (!typer) return;
    clearTimeout(typer.timer);
    this.typers.delete(userId);
    this.#renderTyping();
  }

  #renderTyping() {
    const names = [...this.typers.values()].map((t) => t.name);
    this.refs.typing.textContent =
      names.length === 0
        ? ""
        : names.length === 1
          ? `${names[0]} is typing…`
          : `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…`;
  }

  // -- sending -------------------------------------------------------------------------------

  async #submit() {
    const { input, send } = this.refs;
    if (this.sending || this.viewer.mode !== "participant" || this.status === "ended") return;
    const body = input.value;
    if (!body.trim() && this.files.length === 0) return;
    const draft = `${body}\u0000${this.files.map((f) => f.key).join(",")}`;
    if (draft !== this.pendingBody) {
      // A new text is a new message; the same text again is a retry with the same key.
      this.pendingBody = draft;
      this.pendingId = newClientMsgId();
    }
    this.sending = true;
    send.disabled = true;
    this.refs.attach.disabled = true;
    send.textContent = this.files.some((f) => !f.id) ? "Uploading…" : "Sending…";
    this.#hideError();
    this.#stopTyping();
    try {
      // Files first (each once: a retry keeps the ids already uploaded), then the message.
      for (const item of this.files) {
        item.id ||= (await uploadAttachment(this.id, item.file, { token: this.token })).id;
      }
      send.textContent = "Sending…";
      const message = await this.client.send(this.id, body, {
        clientMsgId: this.pendingId,
        attachmentIds: this.files.map((f) => f.id),
      });
      if (input.value === body) {
        input.value = "";
        this.#autosize();
      }
      this.files = [];
      this.#renderFiles();
      this.pendingBody = null;
      this.pendingId = null;
      this.#live(message);
    } catch (error) {
      this.#showError(`Not sent: ${error.message} Your message is kept here; press Send to try again.`);
    } finally {
      this.sending = false;
      send.textContent = "Send";
      send.disabled = this.status === "ended";
      this.refs.attach.disabled = this.status === "ended";
    }
  }

  #addFiles(fileList) {
    for (const file of fileList) {
      if (this.files.length >= MAX_FILES) {
        this.#showError(`A message can carry at most ${MAX_FILES} files.`);
        break;
      }
      const key = `${file.name}:${file.size}:${file.lastModified}:${Math.random()}`;
      this.files.push({ file, id: null, key });
    }
    this.#renderFiles();
    this.refs.input.focus();
  }

  #renderFiles() {
    const { files } = this.refs;
    files.replaceChildren(
      ...this.files.map((item) => {
        const remove = el("button", {
          cls: "composer-file-remove",
          text: "×",
          attrs: { type: "button", "aria-label": `Remove ${item.file.name}` },
        });
        remove.addEventListener("click", () => {
          this.files = this.files.filter((f) => f !== item);
          this.#renderFiles();
        });
        return el("li", { cls: "composer-file" }, [
          el("span", { cls: "composer-file-name", text: item.file.name }),
          el("span", { cls: "composer-file-size", text: fileSize(item.file.size) }),
          remove,
        ]);
      }),
    );
    files.hidden = this.files.length === 0;
  }

  #showError(text) {
    this.refs.error.textContent = text;
    this.refs.error.hidden = false;
    this.refs.input.setAttribute("aria-invalid", "true");
  }

  // How the files of a message are fetched: with the page's cookie (plain links and images),
  // or, for a holder of a bearer token (the support widget's guest), with the token: an <img>
  // or a link cannot send one, so thumbnails load as blob URLs and links download on click.
  #fileAccess() {
    if (!this.token) return {};
    const blobUrl = async (url) => {
      const response = await fetch(url, {
        headers: { Authorization: `Bearer ${this.token}` },
        credentials: "omit",
      });
      if (!response.ok) throw new Error(`file ${response.status}`);
      return URL.createObjectURL(await response.blob());
    };
    return { src: blobUrl, open: blobUrl };
  }

  #hideError() {
    this.refs.error.hidden = true;
    this.refs.error.textContent = "";
    this.refs.input.removeAttribute("aria-invalid");
  }

  #autosize() {
    if (CSS.supports("field-sizing", "content")) return;
    const { input } = this.refs;
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  async #end() {
    const dialog = this.refs["end-dialog"];
    dialog.returnValue = "";
    dialog.showModal();
    const choice = await new Promise((resolve) =>
      dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true }),
    );
    if (choice !== "end") return;
    try {
      const view = await api(`/api/v1/conversations/${this.id}/end`, {
        method: "POST",
        body: {},
        token: this.token,
      });
      this.#apply(view);
    } catch (error) {
      this.#showBanner(`Could not end the conversation: ${error.message}`, "error");
    }
  }

  // -- wiring --------------------------------------------------------------------------------

  #bindUi() {
    const { refs } = this;
    refs.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#submit();
    });
    refs.attach.addEventListener("click", () => refs["file-input"].click());
    refs["file-input"].addEventListener("change", () => {
      this.#addFiles(refs["file-input"].files);
      refs["file-input"].value = "";
    });
    if (this.me.role === "agent" || this.me.role === "admin") {
      // Saved replies: "/" and a shortcut (registered first, so it can take Enter).
      this.canned = new CannedPicker(refs.input, refs.canned);
      refs.input.addEventListener("keydown", (event) => this.canned.handleKey(event));
      refs.input.addEventListener("input", () => this.canned.update());
      refs.input.addEventListener("blur", () => this.canned.close());
    }
    refs.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#submit();
      }
    });
    refs.input.addEventListener("input", () => {
      this.#autosize();
      this.#typed();
    });
    refs.input.addEventListener("blur", () => this.#stopTyping());
    refs.end.addEventListener("click", () => this.#end());
    refs.jump.addEventListener("click", () => this.#scrollToBottom());
    let queued = false;
    refs.scroll.addEventListener("scroll", () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        if (this.#nearBottom()) refs.jump.hidden = true;
        if (refs.scroll.scrollTop < NEAR_BOTTOM_PX) this.#loadOlder();
        this.#maybeMarkRead();
      });
    });
    const observer = new IntersectionObserver(
      (entries) => entries.some((e) => e.isIntersecting) && this.#loadOlder(),
      { root: refs.scroll, rootMargin: "200px 0px 0px 0px" },
    );
    observer.observe(refs.edge);
    this.cleanups.push(() => observer.disconnect());
    const onVisible = () => this.#maybeMarkRead();
    document.addEventListener("visibilitychange", onVisible);
    this.cleanups.push(() => document.removeEventListener("visibilitychange", onVisible));
  }

  #listen() {
    const on = (type, handler) => {
      this.client.addEventListener(type, handler);
      this.cleanups.push(() => this.client.removeEventListener(type, handler));
    };
    const mine = (handler) => (event) => {
      if (event.detail.conversation_id === this.id) handler(event.detail);
    };
    on("message", mine((frame) => this.#live(frame.message)));
    on("typing", mine((frame) => this.#someoneTyping(frame)));
    on("signal", mine((frame) => this.#callHello(frame)));
    on(
      "read",
      mine((frame) => {
        this.#noteRead(frame.user_id, frame.seq);
        this.#renderReceipt();
      }),
    );
    on("conversation", (event) => {
      if (event.detail.conversation.id === this.id) this.#apply(event.detail.conversation);
    });
    on("state", (event) => this.#showConnection(event.detail.state));
    on("ready", () => this.#maybeMarkRead());
    on("unauthorized", () => {
      this.#showBanner("Your session has ended. Log in again to keep chatting.", "error");
    });
  }

  #showConnection(state) {
    const { conn } = this.refs;
    const down = state !== "open" && state !== "idle";
    if (down && state !== "closed" && (this.connTimer || conn.textContent)) return;
    clearTimeout(this.connTimer);
    this.connTimer = null;
    if (!down) {
      conn.textContent = "";
      conn.className = "conn";
    } else if (state === "closed") {
      conn.textContent = "Offline";
      conn.className = "conn conn-down";
    } else {
      // Brief blips stay silent; a real outage shows.
      this.connTimer = setTimeout(() => {
        this.connTimer = null;
        conn.textContent = "Reconnecting…";
        conn.className = "conn conn-down";
      }, RECONNECTING_GRACE_MS);
    }
  }

  #nearBottom() {
    const { scroll } = this.refs;
    return scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < NEAR_BOTTOM_PX;
  }

  #scrollToBottom() {
    const { scroll, jump } = this.refs;
    scroll.scrollTop = scroll.scrollHeight;
    jump.hidden = true;
  }
}
