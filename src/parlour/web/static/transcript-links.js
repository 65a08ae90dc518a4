// "Transcript: text · CSV · JSON" in the chat room: downloads for anyone reading the room
// (the same-origin cookie carries the credential of a plain link).

import { el } from "./ui.js";

const FORMATS = [
  ["txt", "text"],
  ["csv", "CSV"],
  ["json", "JSON"],
];

export class TranscriptLinks {
  constructor({ conversationId, node }) {
    this.id = conversationId;
    this.node = node;
  }

  start() {
    const links = FORMATS.map(([format, label]) => {
      const link = el("a", { text: label });
      link.href = `/api/v1/conversations/${this.id}/transcript?format=${format}`;
      link.setAttribute("download", `conversation-${this.id}.${format}`);
      return link;
    });
    const parts = [el("span", { text: "Transcript: " })];
    links.forEach((link, i) => parts.push(...(i ? [document.createTextNode(" · "), link] : [link])));
    this.node.replaceChildren(...parts);
    this.node.hidden = false;
  }

  destroy() {}
}
