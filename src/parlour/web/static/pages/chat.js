// The chat page: one conversation, full screen.

import { ChatRoom } from "../chat-room.js";
import { ParlourClient } from "../parlour.js";
import { pageData } from "../ui.js";

const BACK_TEXT = { "/conversations": "Your conversations", "/agent": "Inbox", "/admin": "Live" };

const data = pageData();
const client = new ParlourClient();
const room = new ChatRoom({
  client,
  me: data.me,
  conversation: data.conversation,
  staffLabel: data.staff_label,
  maxChars: data.max_chars,
  back: { href: data.back, text: BACK_TEXT[data.back] || "Back" },
});
room.open(document.getElementById("chat-root"), data.history);
client.addEventListener("unauthorized", () => {
  location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
});
client.connect();
