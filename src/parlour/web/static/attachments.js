// Attachments in the browser: upload a file into a conversation, and show a message's files —
// images as thumbnails linking to the full image, anything else as a download link. Used by
// the chat room and meant for the embeddable widget too (pass `token` and `base` there).

import { ApiError } from "./parlour.js";
import { el } from "./ui.js";

export const MAX_FILES = 10;
const INLINE = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
// inbox: what a browser's media elements play (AMR is kept, but offered as a download).
const PLAYABLE_AUDIO = new Set(["audio/mpeg", "audio/mp4", "audio/ogg", "audio/aac", "audio/wav", "audio/flac"]);
const PLAYABLE_VIDEO = new Set(["video/mp4", "video/webm", "video/3gpp"]);

// inbox: a voice note or clip as a player (with its name and a download link beside it).
function mediaPlayer(a, href, src) {
  const tag = PLAYABLE_VIDEO.has(a.content_type) ? "video" : "audio";
  const player = el(tag, {
    cls: `msg-${tag}`,
    attrs: { controls: "", preload: "metadata", "aria-label": a.filename },
  });
  Promise.resolve(src(href)).then((url) => {
    player.src = url;
  });
  const link = el("a", { cls: "msg-download msg-media-link", attrs: { href, download: a.filename } });
  link.append(
    el("span", { cls: "msg-file-name", text: a.filename }),
    el("span", { cls: "msg-file-size", text: fileSize(a.size) }),
  );
  return [player, link];
}

/** Upload one File; resolves with the attachment ({id, url, thumbnail_url, ...}). */
export async function uploadAttachment(conversationId, file, { token, base = "" } = {}) {
  const form = new FormData();
  form.append("conversation_id", conversationId);
  form.append("file", file, file.name);
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`${base}/api/v1/attachments`, {
      method: "POST",
      headers,
      body: form,
      credentials: token ? "omit" : "same-origin",
    });
  } catch {
    throw new ApiError(0, "network", "Could not reach the server. Check your connection.");
  }
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
      error.message || `The upload failed (${response.status}).`,
    );
  }
  return data;
}

/** "1.4 MB", "320 KB", "12 bytes". */
export function fileSize(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * A message's attachments as nodes. `base` prefixes the URLs (the widget on another origin);
 * `src(url)` may turn a URL into one an <img> can load without a cookie (a blob URL).
 */
export function attachmentList(attachments, { base = "", src = (url) => url, open = null } = {}) {
  const list = el("ul", { cls: "msg-files" });
  for (const a of attachments) {
    const item = el("li", { cls: "msg-file" });
    const href = base + a.url;
    if (INLINE.has(a.content_type) && a.thumbnail_url) {
      const link = el("a", { cls: "msg-image", attrs: { href, target: "_blank" } });
      link.rel = "noopener noreferrer";
      const img = el("img", {
        attrs: { alt: a.filename, loading: "lazy", decoding: "async" },
      });
      if (a.width && a.height) {
        const scale = Math.min(1, 240 / Math.max(a.width, a.height));
        img.width = Math.max(1, Math.round(a.width * scale));
        img.height = Math.max(1, Math.round(a.height * scale));
      }
      Promise.resolve(src(base + a.thumbnail_url)).then((url) => {
        img.src = url;
      });
      link.append(img);
      item.append(link);
    } else if (PLAYABLE_AUDIO.has(a.content_type) || PLAYABLE_VIDEO.has(a.content_type)) {
      item.classList.add("msg-media");
      item.append(...mediaPlayer(a, href, src));
    } else {
      const link = el("a", { cls: "msg-download", attrs: { href, download: a.filename } });
      link.append(
        el("span", { cls: "msg-file-name", text: a.filename }),
        el("span", { cls: "msg-file-size", text: fileSize(a.size) }),
      );
      item.append(link);
    }
    if (open) {
      // The link itself cannot carry the credential: fetch the file with it, then save it.
      const link = item.querySelector("a");
      link.addEventListener("click", async (event) => {
        event.preventDefault();
        const save = document.createElement("a");
        save.href = await open(link.href);
        save.download = a.filename;
        save.click();
        setTimeout(() => URL.revokeObjectURL(save.href), 60_000);
      });
    }
    list.append(item);
  }
  return list;
}
