// The group's chat: shown where the host says the group may chat (`chat_open`), beside
// the game or under a scene; every line goes through the host, which delivers it to the
// group only. Typing here never moves the player: the game ignores keys meant for
// fields outside it.

import { t } from "./i18n.js";

export class Chat {
  constructor(box, connection) {
    this.box = box;
    this.connection = connection;
    this.game = null;
    this.heading = document.createElement("h2");
    this.heading.id = "chat-heading";
    this.lines = document.createElement("ol");
    this.lines.id = "chat-lines";
    this.lines.setAttribute("aria-live", "polite");
    this.lines.setAttribute("aria-labelledby", "chat-heading");
    this.input = document.createElement("input");
    this.input.type = "text";
    this.input.id = "chat-input";
    this.input.autocomplete = "off";
    this.button = document.createElement("button");
    this.button.type = "submit";
    this.error = document.createElement("p");
    this.error.className = "error";
    this.error.id = "chat-error";
    this.error.hidden = true;
    this.input.setAttribute("aria-describedby", "chat-error");
    const label = document.createElement("label");
    label.htmlFor = "chat-input";
    label.className = "visually-hidden";
    this.label = label;
    const form = document.createElement("form");
    form.className = "chat-form";
    form.append(label, this.input, this.button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.send();
    });
    box.replaceChildren(this.heading, this.lines, form, this.error);
  }

  /** Shows the chat of `game` with its latest lines. */
  open(msg) {
    this.game = msg.game;
    this.heading.textContent = t("chat.heading");
    this.label.textContent = t("chat.label");
    this.button.textContent = t("chat.send");
    this.input.maxLength = msg.max_chars;
    this.lines.replaceChildren(...msg.lines.map((l) => this.line(l)));
    this.box.hidden = false;
    this.lines.scrollTop = this.lines.scrollHeight;
  }

  close() {
    this.game = null;
    this.box.hidden = true;
  }

  add(msg) {
    if (msg.game !== this.game) return;
    this.lines.append(this.line(msg.line));
    while (this.lines.children.length > 200) this.lines.firstElementChild.remove();
    this.lines.scrollTop = this.lines.scrollHeight;
  }

  line(l) {
    const li = document.createElement("li");
    li.className = l.mine ? "mine" : "";
    const who = document.createElement("strong");
    who.textContent = `${l.mine ? t("chat.you") : t("chat.player", { n: l.slot + 1 })}: `;
    li.append(who, document.createTextNode(l.text)); // text, never markup
    return li;
  }

  async send() {
    const text = this.input.value.trim();
    if (!text) return;
    this.button.disabled = true;
    this.error.hidden = true;
    try {
      await this.connection.request({ type: "chat", text });
      this.input.value = "";
    } catch (err) {
      this.error.textContent = err.reply ? err.reply.message : t("status.not_connected");
      this.error.hidden = false;
    } finally {
      this.button.disabled = false;
      this.input.focus();
    }
  }
}
