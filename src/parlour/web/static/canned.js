// Canned responses in a composer: typing "/" and a shortcut offers the tenant's saved replies;
// picking one (click, Enter or Tab) replaces "/shortcut" with its text. Staff only (the list
// is fetched once, on the first "/", and a refusal quietly turns the picker off).

import { api } from "./parlour.js";
import { el } from "./ui.js";

const TOKEN = /(^|\s)\/([A-Za-z0-9_-]{0,32})$/;
const SHOWN = 6;

export class CannedPicker {
  /** `input`: the textarea; `menu`: an empty <ul> shown above it. */
  constructor(input, menu, { base = "", token } = {}) {
    this.input = input;
    this.menu = menu;
    this.base = base;
    this.token = token;
    this.items = null; // fetched once
    this.loading = null;
    this.matches = [];
    this.active = 0;
    this.disabled = false;
    menu.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus
  }

  /** Call from the input's `keydown` first: true when the key was the picker's. */
  handleKey(event) {
    if (this.menu.hidden || this.matches.length === 0) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.matches.length) % this.matches.length;
      this.#render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.#pick(this.matches[this.active]);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return false;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    return true;
  }

  /** Call on `input`: offer the replies whose shortcut starts with what follows the "/". */
  async update() {
    if (this.disabled) return;
    const typed = this.#typed();
    if (typed === null) {
      this.close();
      return;
    }
    const items = await this.#load();
    if (this.#typed() !== typed) return; // typing moved on while loading
    const q = typed.toLowerCase();
    this.matches = items.filter((c) => c.shortcut.startsWith(q)).slice(0, SHOWN);
    this.active = 0;
    this.#render();
  }

  close() {
    this.matches = [];
    this.menu.hidden = true;
    this.menu.replaceChildren();
  }

  #typed() {
    const { input } = this;
    if (input.selectionStart !== input.selectionEnd) return null;
    const match = input.value.slice(0, input.selectionStart).match(TOKEN);
    return match ? match[2] : null;
  }

  async #load() {
    if (this.items) return this.items;
    this.loading ||= api("/api/v1/canned-responses", { token: this.token, base: this.base })
      .then((page) => page.canned_responses)
      .catch(() => {
        this.disabled = true;
        return [];
      });
    this.items = await this.loading;
    return this.items;
  }

  #render() {
    if (this.matches.length === 0) {
      this.close();
      return;
    }
    this.menu.replaceChildren(
      ...this.matches.map((c, i) => {
        const option = el("li", {
          cls: i === this.active ? "canned-option is-active" : "canned-option",
          attrs: { role: "option", "aria-selected": String(i === this.active) },
        });
        option.append(
          el("span", { cls: "canned-shortcut", text: `/${c.shortcut}` }),
          el("span", { cls: "canned-title", text: c.title }),
        );
        option.addEventListener("click", () => this.#pick(c));
        return option;
      }),
    );
    this.menu.hidden = false;
  }

  #pick(canned) {
    const { input } = this;
    const caret = input.selectionStart;
    const before = input.value.slice(0, caret).replace(/\/[A-Za-z0-9_-]*$/, "");
    input.value = before + canned.body + input.value.slice(caret);
    const at = before.length + canned.body.length;
    input.setSelectionRange(at, at);
    this.close();
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.focus();
  }
}
