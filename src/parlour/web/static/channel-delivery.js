// twilio: WhatsApp/SMS replies in a conversation — each one's delivery status (live `delivery`
// frames), a Retry button on a failed one, and WhatsApp's approved templates when the 24-hour
// window is closed (docs/channels.md).

import { api } from "./parlour.js";
import { el } from "./ui.js";

const LABEL = {
  queued: "Queued",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Failed",
  undelivered: "Not delivered",
};

function fill(badge, status, error, conversationId, messageId) {
  badge.dataset.status = status;
  const label = el("span", { cls: "msg-delivery-label", text: LABEL[status] || status });
  if (error) label.title = error;
  badge.replaceChildren(label);
  if (status !== "failed") return;
  const retry = el("button", {
    cls: "btn btn-quiet btn-small",
    text: "Retry",
    attrs: { type: "button" },
  });
  retry.addEventListener("click", async () => {
    retry.disabled = true;
    try {
      await api(`/api/v1/conversations/${conversationId}/messages/${messageId}/retry`, {
        method: "POST",
      });
    } catch (failure) {
      retry.disabled = false;
      label.title = failure.message;
    }
  });
  badge.append(retry);
}

/** The status badge of an outbound channel message (null for other messages). */
export function deliveryBadge(message, conversationId) {
  if (!message.delivery_status) return null;
  const badge = el("span", { cls: "msg-delivery", attrs: { "data-delivery-for": message.id } });
  const error = message.meta && message.meta.delivery && message.meta.delivery.error_message;
  fill(badge, message.delivery_status, error, conversationId, message.id);
  return badge;
}

/** Apply a `delivery` frame to the badge on screen (if that message is shown). */
export function applyDelivery(root, frame) {
  const badge = root.querySelector(`[data-delivery-for="${CSS.escape(frame.message_id)}"]`);
  if (badge) fill(badge, frame.delivery_status, frame.error_message, frame.conversation_id, frame.message_id);
}

/** Offer the channel's approved templates (the free-form reply was refused). */
export async function offerTemplates(conversationId, node) {
  let info;
  try {
    info = await api(`/api/v1/conversations/${conversationId}/channel`);
  } catch {
    return;
  }
  node.replaceChildren();
  node.hidden = false;
  if (!info.templates.length) {
    node.append(el("p", { cls: "muted", text: "This channel has no approved templates yet." }));
    return;
  }
  node.append(el("p", { text: "Outside the 24-hour window you can send an approved template:" }));
  for (const template of info.templates) {
    const form = el("form", { cls: "template-form" });
    form.append(el("strong", { text: template.name }), el("p", { cls: "muted", text: template.body }));
    const inputs = template.variables.map((name) => {
      const input = el("input", { attrs: { type: "text", required: "", "aria-label": `Value ${name}` } });
      form.append(el("label", { text: `{{${name}}} ` }, [input]));
      return [name, input];
    });
    const send = el("button", { cls: "btn btn-primary btn-small", text: "Send template", attrs: { type: "submit" } });
    form.append(send);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      send.disabled = true;
      try {
        await api(`/api/v1/conversations/${conversationId}/channel/template`, {
          method: "POST",
          body: {
            content_sid: template.content_sid,
            variables: Object.fromEntries(inputs.map(([name, input]) => [name, input.value])),
          },
        });
        node.hidden = true;
      } catch (failure) {
        send.disabled = false;
        form.append(el("p", { cls: "form-error", text: failure.message }));
      }
    });
    node.append(form);
  }
}
