// The ready-check (protocol: docs/protocol.md, "Ready-check"). When a group is formed
// the host asks every member to confirm they are there: this page answers `ready` as
// soon as the tab is visible — after a click on its button when the check asks for
// one. A page in a background tab flashes its title and plays a short sound so that
// the participant comes back in time.

import { t } from "./i18n.js";

export class ReadyCheck {
  constructor(app, send) {
    this.app = app;
    this.send = send;
    this.check = null;
    this.clicked = false;
    this.sent = false;
    this.flash = null;
    this.title = document.title;
    document.addEventListener("visibilitychange", () => {
      // Gone to the background during a check not yet confirmed: call them back.
      if (document.visibilityState === "hidden" && this.check && !this.sent && !this.flash) this.alert();
      this.maybeConfirm();
    });
  }

  /** `ready_check`: a new check, or the count of an ongoing one. */
  start(msg) {
    if (this.check !== msg.check) {
      this.stop();
      this.check = msg.check;
      this.needsClick = msg.click;
      this.clicked = false;
      this.sent = false;
      this.deadline = performance.now() + msg.timeout_secs * 1000;
      this.render();
      if (document.visibilityState === "hidden") this.alert();
    }
    const count = this.app.querySelector("#ready-count");
    if (count) count.textContent = t("ready.count", { ready: msg.ready, players: msg.players });
    this.maybeConfirm();
  }

  /** `ready_abort`: the group is off. Someone who missed it confirms they are back. */
  abort(msg) {
    const missed = msg.reason === "missed" && msg.check === this.check;
    this.stop();
    const box = this.app.querySelector("#ready-check");
    if (!box) return;
    box.replaceChildren();
    if (missed) {
      const text = document.createElement("p");
      text.textContent = t("ready.missed");
      const button = document.createElement("button");
      button.type = "button";
      button.id = "ready-back";
      button.textContent = t("ready.back");
      button.addEventListener("click", () => {
        this.send({ type: "ready", check: msg.check });
        box.replaceChildren();
      });
      box.append(text, button);
    }
  }

  render() {
    let box = this.app.querySelector("#ready-check");
    if (!box) {
      box = document.createElement("section");
      box.id = "ready-check";
      this.app.append(box);
    }
    const heading = document.createElement("h2");
    heading.textContent = t("ready.heading");
    const count = document.createElement("p");
    count.id = "ready-count";
    const parts = [heading, count];
    if (this.needsClick) {
      const button = document.createElement("button");
      button.type = "button";
      button.id = "ready-button";
      button.textContent = t("ready.button");
      button.addEventListener("click", () => {
        this.clicked = true;
        button.disabled = true;
        this.maybeConfirm();
      });
      parts.push(button);
    } else {
      const text = document.createElement("p");
      text.textContent = t("ready.keep_open");
      parts.push(text);
    }
    box.replaceChildren(...parts);
  }

  maybeConfirm() {
    if (!this.check || this.sent || document.visibilityState !== "visible") return;
    if (this.needsClick && !this.clicked) return;
    this.sent = true;
    this.stopAlert();
    this.send({ type: "ready", check: this.check });
  }

  /** Title flash and a short tone, while the tab is in the background. */
  alert() {
    let on = false;
    this.flash = setInterval(() => {
      on = !on;
      document.title = on ? t("ready.flash") : this.title;
      if (document.visibilityState === "visible" || performance.now() > this.deadline) this.stopAlert();
    }, 700);
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.1;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
      window.cohortReadyTone = true; // what a test can observe
    } catch {
      // No sound without an earlier user gesture on some browsers; the title flashes.
    }
  }

  stopAlert() {
    clearInterval(this.flash);
    this.flash = null;
    document.title = this.title;
  }

  stop() {
    this.stopAlert();
    this.check = null;
  }
}
