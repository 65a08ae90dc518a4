// Parlour's support widget. On any site:
//   <script src="https://HOST/widget.js" data-tenant="your-slug" async></script>
// adds a launcher button and a chat panel. The panel is an iframe of HOST/support/embed (the
// tenant must list the site in `widget_allowed_origins`): the host page's CSS and scripts
// cannot reach into it, and the visitor's credential stays in that frame's own storage. The
// launcher lives in a shadow root so the host page's styles do not restyle it either.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__parlourWidget) return;
  window.__parlourWidget = true;

  var tenant = script.getAttribute("data-tenant") || "";
  var label = script.getAttribute("data-label") || "Chat with us";
  var origin = new URL(script.src, location.href).origin;
  var src = origin + "/support/embed" + (tenant ? "?tenant=" + encodeURIComponent(tenant) : "");

  var host = document.createElement("div");
  host.setAttribute("data-parlour-widget", "");
  var root = host.attachShadow({ mode: "open" });

  var style = document.createElement("style");
  style.textContent = [
    ":host { all: initial; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483646;",
    "  font: 600 15px system-ui, sans-serif; color: #fff; background: #0f766e; border: 0;",
    "  border-radius: 999px; padding: 12px 18px; cursor: pointer;",
    "  box-shadow: 0 4px 16px rgb(0 0 0 / 20%); }",
    ".launcher:focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }",
    ".panel { position: fixed; right: 20px; bottom: 76px; z-index: 2147483647;",
    "  width: min(400px, calc(100vw - 40px)); height: min(600px, calc(100vh - 100px));",
    "  border: 0; border-radius: 16px; background: #fff;",
    "  box-shadow: 0 8px 32px rgb(0 0 0 / 25%); }",
    ".panel[hidden] { display: none; }",
  ].join("\n");

  var button = document.createElement("button");
  button.type = "button";
  button.className = "launcher";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");

  var frame = null;
  button.addEventListener("click", function () {
    if (!frame) {
      // Created on first open: a page that never opens the chat loads nothing more.
      frame = document.createElement("iframe");
      frame.className = "panel";
      frame.title = "Support chat";
      frame.src = src;
      frame.setAttribute("allow", "clipboard-write");
      frame.setAttribute("referrerpolicy", "origin");
      root.appendChild(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
    button.setAttribute("aria-expanded", String(!frame.hidden));
    button.textContent = frame.hidden ? label : "Close chat";
  });

  // The panel keeps the visitor's credential in its own storage. Where the browser blocks
  // storage in third-party frames, it asks this script to keep it on the host page instead
  // (only messages from the panel's frame and Parlour's origin are taken).
  var KEY = "parlour.widget." + tenant;
  window.addEventListener("message", function (event) {
    var message = event.data;
    if (!frame || event.source !== frame.contentWindow || event.origin !== origin) return;
    if (!message || message.source !== "parlour-support" || message.tenant !== tenant) return;
    try {
      if (message.type === "load") {
        var value = localStorage.getItem(KEY);
        frame.contentWindow.postMessage({ source: "parlour-widget", type: "state", value: value }, origin);
      } else if (message.type === "save" && typeof message.value === "string") {
        localStorage.setItem(KEY, message.value);
      } else if (message.type === "forget") {
        localStorage.removeItem(KEY);
      }
    } catch (e) {
      // storage blocked here too: the chat lasts as long as the page
    }
  });

  root.appendChild(style);
  root.appendChild(button);
  (document.body || document.documentElement).appendChild(host);

  // A visitor who had a chat open comes back to it open after a reload.
  try {
    if (sessionStorage.getItem("parlour.widget.open") === "1") button.click();
    button.addEventListener("click", function () {
      sessionStorage.setItem("parlour.widget.open", frame && !frame.hidden ? "1" : "0");
    });
  } catch (e) {
    // storage blocked: the panel starts closed
  }
})();
