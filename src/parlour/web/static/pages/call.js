// video: the call page. The video call on one side, the conversation's chat (the same chat
// room as /chat) on the other, over one realtime connection.

import { ChatRoom } from "../chat-room.js";
import { ParlourClient, api } from "../parlour.js";
import { pageData } from "../ui.js";
import { VideoCall } from "../video-call.js";

const BACK_TEXT = { "/conversations": "Your conversations", "/agent": "Inbox", "/admin": "Live" };

const data = pageData();
const stage = document.getElementById("call-root");
const refs = {};
for (const node of stage.querySelectorAll("[data-ref]")) refs[node.dataset.ref] = node;

const client = new ParlourClient();
const room = new ChatRoom({
  client,
  me: data.me,
  conversation: data.conversation,
  staffLabel: data.staff_label,
  maxChars: data.max_chars,
  back: { href: data.back, text: BACK_TEXT[data.back] || "Back" },
  callLink: false, // this is the call
});
room.open(document.getElementById("chat-root"), data.history);
client.addEventListener("unauthorized", () => {
  location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
});

let call = null;
let peerName = null;
let peerId = null;

function status(text) {
  refs.status.textContent = text;
}

function notice(text) {
  refs.notice.textContent = text;
  refs.notice.hidden = !text;
}

function showState(state) {
  const who = peerName || "the other side";
  const text = {
    waiting: `Waiting for ${who} to join the call…`,
    connecting: `Connecting to ${who}…`,
    new: `Connecting to ${who}…`,
    connected: `In a call with ${who}`,
    disconnected: "The connection is unsteady; reconnecting…",
    failed: "The connection failed; trying again…",
    closed: "You left the call.",
  }[state];
  if (text) status(text);
  const inCall = state !== "closed";
  refs.hangup.disabled = !inCall;
  refs.rejoin.hidden = inCall || data.ended;
  refs.mic.disabled = !inCall || !call || !call.hasAudio;
  refs.camera.disabled = !inCall || !call || !call.hasVideo;
}

function stopCall(text) {
  if (call) call.hangUp();
  call = null;
  refs.rejoin.hidden = true;
  refs.hangup.disabled = true;
  refs.mic.disabled = refs.camera.disabled = true;
  status(text);
}

/** An absent username or credential is left out (null would become the text "null"). */
function usable(servers) {
  return servers.map((server) =>
    Object.fromEntries(Object.entries(server).filter(([, value]) => value !== null)),
  );
}

/** The server hands out TURN credentials only once the expert is there: fetch them then. */
async function refreshIceServers() {
  try {
    const info = await api(`/api/v1/conversations/${data.conversation.id}/call`);
    if (call) call.useIceServers(usable(info.ice_servers));
  } catch {
    // The call goes on with the servers it has (STUN, or a direct path).
  }
}

async function startCall() {
  refs.rejoin.hidden = true;
  notice("");
  status("Starting your camera…");
  let info;
  try {
    info = await api(`/api/v1/conversations/${data.conversation.id}/call`);
  } catch (error) {
    stopCall(
      error.code === "conversation_ended"
        ? "This conversation has ended, and its call with it."
        : `The call is unavailable: ${error.message}`,
    );
    return;
  }
  peerName = info.peer ? info.peer.display_name : null;
  peerId = info.peer ? info.peer.user_id : null;
  call = new VideoCall({
    client,
    conversationId: data.conversation.id,
    polite: info.polite,
    iceServers: usable(info.ice_servers),
    stage,
    localVideo: refs.local,
    remoteVideo: refs.remote,
  });
  call.addEventListener("state", (event) => showState(event.detail.state));
  call.addEventListener("notice", (event) => notice(event.detail.text));
  call.addEventListener("left", () => notice(`${peerName || "The other side"} left the call.`));
  await call.start();
  showState(call.state);
}

refs.hangup.addEventListener("click", () => {
  if (call) call.hangUp();
});
refs.rejoin.addEventListener("click", () => startCall());
refs.mic.addEventListener("click", () => {
  if (!call) return;
  const muted = call.toggleAudio();
  refs.mic.textContent = muted ? "Unmute" : "Mute";
  refs.mic.setAttribute("aria-pressed", String(muted));
});
refs.camera.addEventListener("click", () => {
  if (!call) return;
  const off = call.toggleVideo();
  refs.camera.textContent = off ? "Camera on" : "Camera off";
  refs.camera.setAttribute("aria-pressed", String(off));
});

/** The current agent participant: not left, the latest to join. */
function currentAgent(conversation) {
  const present = conversation.participants.filter((p) => p.role === "agent" && !p.left_at);
  present.sort((a, b) => (a.joined_at < b.joined_at ? -1 : 1));
  return present.at(-1) || null;
}

client.addEventListener("conversation", (event) => {
  const conversation = event.detail.conversation;
  if (conversation.id !== data.conversation.id) return;
  if (conversation.status === "ended") {
    data.ended = true;
    stopCall("This conversation has ended, and its call with it.");
    return;
  }
  const agent = currentAgent(conversation);
  if (data.me.role !== "customer") {
    // Handed over or removed: media flows browser to browser, so this side must close it.
    if (call && (!agent || agent.user_id !== data.me.id)) {
      stopCall("You are no longer part of this call.");
    }
    return;
  }
  if (!agent) return;
  peerName = agent.display_name;
  if (call && peerId && agent.user_id !== peerId) {
    // Another expert took over: call them instead.
    call.hangUp();
    call = null;
    startCall();
  } else if (call) {
    const firstExpert = !peerId;
    peerId = agent.user_id;
    showState(call.state);
    if (firstExpert) refreshIceServers();
  }
});
client.addEventListener("error", (event) => {
  if (event.detail.ref !== "call") return;
  if (event.detail.code === "conversation_ended") {
    stopCall("This conversation has ended, and its call with it.");
  } else if (event.detail.code === "conversation_not_found") {
    stopCall("You are no longer part of this call.");
  } else {
    notice(`The call hit a problem: ${event.detail.message}`);
  }
});

client.connect();
if (data.ended) {
  stopCall("This conversation has ended, and its call with it.");
} else {
  startCall();
}
