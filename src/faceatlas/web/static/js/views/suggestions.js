// "Same person?" cards: two people that are probably one, each shown by a strip of their
// best faces; Yes merges them, No keeps them apart for good. Keyboard: Y / N answer the
// focused card, arrow keys move between cards.

import { api } from "../api.js";
import { el, faceThumb, heading, showError, toast } from "../ui.js";
import { announcer, canWrite, label as personLabel, owner, readOnlyNote, percent, typing, useStyles, whileShown } from "./_browse.js";

export async function render(root) {
  const alive = owner(root);
  await useStyles();
  if (!alive()) return;
  heading(root, "Same person?",
          el("p", { class: "subtitle" }, "People that look alike. Tell faceatlas whether they are one person."));
  const help = el("p", { class: "kbd-help", id: "suggestion-keys" },
    "Keyboard: ", el("kbd", {}, "Y"), " same person, ", el("kbd", {}, "N"), " different people, ",
    el("kbd", {}, "←"), " ", el("kbd", {}, "→"), " previous / next card.");
  root.append(help);
  const say = announcer(root);
  const list = el("div", { class: "suggestion-list" });
  root.append(list);
  let rows;
  try {
    rows = (await api("GET", "/browse/suggestions?limit=30&faces=6")).suggestions;
  } catch (err) {
    if (alive()) showError(root, err);
    return;
  }
  const writable = await canWrite();
  if (!alive()) return;
  if (!rows.length) {
    empty(list);
    help.hidden = true;
    return;
  }

  const cards = () => [...list.querySelectorAll('[data-testid="suggestion-card"]')];
  const focusCard = (i) => {
    const all = cards();
    if (!all.length) return;
    all[Math.max(0, Math.min(all.length - 1, i))].focus();
  };

  async function answer(card, row, same) {
    const buttons = card.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    const index = cards().indexOf(card);
    try {
      const res = await api("POST", "/people/suggestions/answer",
                            { a: row.person, b: row.other, same });
      let message;
      if (same) {
        const gone = res.id === row.person ? row.other : row.person;
        message = `Merged: ${personLabel(res.id, res.name)} now has ${res.faces} faces.`;
        // cards about the merged-away person are out of date
        for (const other of cards()) {
          if (other !== card && (Number(other.dataset.a) === gone
                                 || Number(other.dataset.b) === gone)) other.remove();
        }
      } else {
        message = "Kept apart: they will not be suggested again.";
      }
      card.remove();
      toast(message, "success");
      say(message);
      if (!cards().length) {
        empty(list);
        help.hidden = true;
        root.querySelector("h1").focus();
      } else {
        focusCard(index);
      }
    } catch (err) {
      buttons.forEach((b) => { b.disabled = false; });
      toast(err.message, "error");
    }
  }

  if (!writable) list.before(readOnlyNote("Answering"));
  rows.forEach((row, i) => list.append(card(row, i, rows.length, answer, writable)));

  whileShown(list, "keydown", (event) => {
    if (typing(event) || event.altKey || event.ctrlKey || event.metaKey) return;
    const all = cards();
    if (!all.length) return;
    let current = all.indexOf(document.activeElement && document.activeElement.closest
      ? document.activeElement.closest('[data-testid="suggestion-card"]') : null);
    const key = event.key.toLowerCase();
    if (key === "arrowright" || key === "arrowdown" || key === "j") {
      focusCard(current < 0 ? 0 : current + 1);
    } else if (key === "arrowleft" || key === "arrowup" || key === "k") {
      focusCard(current < 0 ? 0 : current - 1);
    } else if (key === "y" || key === "n") {
      if (current < 0) current = 0;
      const target = all[current];
      const button = target.querySelector(key === "y" ? '[data-testid="suggestion-yes"]'
        : '[data-testid="suggestion-no"]');
      if (button && !button.disabled) button.click();
    } else {
      return;
    }
    event.preventDefault();
  });
}

function empty(list) {
  list.replaceChildren(el("div", { class: "empty" },
    el("p", {}, "No suggestions right now: every pair of look-alikes has an answer."),
    el("p", {}, el("a", { href: "#/unassigned" }, "Name unassigned faces"), " or ",
       el("a", { href: "#/people" }, "browse people"), ".")));
}

function strip(id, name, faces, count) {
  const label = personLabel(id, name);
  return el("div", { class: "strip" },
    el("a", { href: `#/person/${id}`, class: "strip-name" }, label,
       el("span", { class: "badge" }, `${count} ${count === 1 ? "face" : "faces"}`)),
    el("ul", { class: "strip-faces", role: "list" },
       faces.map((f, i) => el("li", {}, faceThumb(f, `${label}, face ${i + 1}`, "strip-thumb")))));
}

function card(row, i, n, answer, writable) {
  const a = personLabel(row.person, row.name), b = personLabel(row.other, row.other_name);
  const node = el("article", {
    class: "suggestion-card", tabindex: "0", "data-testid": "suggestion-card",
    "data-a": row.person, "data-b": row.other,
    "aria-label": `Suggestion ${i + 1} of ${n}: is ${a} the same person as ${b}?`,
    "aria-describedby": "suggestion-keys",
  });
  const yes = el("button", { type: "button", class: "btn btn-primary", "data-testid": "suggestion-yes",
                             "aria-keyshortcuts": "Y", disabled: !writable, "on:click": () => answer(node, row, true) },
                 "Yes, same person");
  const no = el("button", { type: "button", class: "btn", "data-testid": "suggestion-no",
                            "aria-keyshortcuts": "N", disabled: !writable, "on:click": () => answer(node, row, false) },
                "No, different");
  node.append(
    strip(row.person, row.name, row.faces_a, row.faces),
    el("div", { class: "versus", "aria-hidden": "true" }, "?"),
    strip(row.other, row.other_name, row.faces_b, row.other_faces),
    el("div", { class: "card-foot" },
       el("span", { class: "hint" }, `Likeness ${percent(row.similarity)}`),
       el("div", { class: "answer" }, no, yes)));
  return node;
}
