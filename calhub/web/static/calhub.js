// calhub: small progressive enhancements shared by every page. Every page works without it.
"use strict";

document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  // On a phone the filters fold away unless one is in use; the summary opens them.
  const filterBox = document.querySelector("details.filter-box");
  if (filterBox && !("active" in filterBox.dataset) && window.matchMedia("(max-width: 640px)").matches) {
    filterBox.open = false;
  }
  // Filter drop-downs apply at once; text fields still wait for Enter or the button.
  for (const select of document.querySelectorAll("form.filters select")) {
    select.addEventListener("change", () => {
      const form = select.form;
      if (typeof form.requestSubmit === "function") {
        form.requestSubmit();
      } else {
        form.submit();
      }
    });
  }
});

// A clash card's "where to move": the free slots of both sides, loaded when it is opened
// (each costs a search, so the list page does not compute them for every card). Texts are
// set as text only; the labels come from the page, in its language.
function slotWhen(iso, lang) {
  // The API sends hub wall-clock times with their offset: show the wall clock as written,
  // whatever zone the viewer's device is in.
  const [day, rest] = iso.split("T");
  const [year, month, date] = day.split("-").map(Number);
  const stamp = new Date(Date.UTC(year, month - 1, date));
  const dayText = new Intl.DateTimeFormat(lang, {
    weekday: "short", day: "numeric", month: "short", timeZone: "UTC",
  }).format(stamp);
  return dayText + ", " + rest.slice(0, 5);
}

function renderSlots(box, data) {
  const body = box.querySelector(".move-slots-body");
  const labels = box.dataset;
  const wrap = document.createElement("div");
  wrap.className = "pair";
  for (const side of data.sides) {
    const column = document.createElement("div");
    column.className = "occ cal-" + side.calendar;
    const title = document.createElement("p");
    title.className = "occ-title";
    title.textContent = side.summary;
    column.append(title);
    if (!side.slots.length) {
      const none = document.createElement("p");
      none.className = "empty";
      none.textContent = labels.none;
      column.append(none);
    }
    const list = document.createElement("ul");
    list.className = "slot-list";
    for (const slot of side.slots) {
      const item = document.createElement("li");
      const when = document.createElement(slot.move_url ? "a" : "span");
      when.className = "slot-choice";
      when.textContent = slotWhen(slot.start, labels.lang) + "–" + slot.end.split("T")[1].slice(0, 5);
      if (slot.move_url) {
        when.href = slot.move_url;
      }
      const grade = document.createElement("span");
      grade.className = "slot-grade slot-" + slot.grade;
      grade.textContent = (slot.grade === "green" ? "● " : "▲ ") + (slot.grade === "green" ? labels.free : labels.amber);
      item.append(when, " ", grade);
      if (slot.soft.length) {
        const soft = document.createElement("ul");
        soft.className = "slot-soft";
        for (const clash of slot.soft) {
          const line = document.createElement("li");
          line.textContent = labels.lang === "ru" ? clash.message_ru : clash.message_en;
          soft.append(line);
        }
        item.append(soft);
      }
      list.append(item);
    }
    column.append(list);
    wrap.append(column);
  }
  body.replaceChildren(wrap);
}

document.addEventListener("toggle", async (event) => {
  const box = event.target;
  if (!(box instanceof HTMLDetailsElement) || !box.classList.contains("move-slots") || !box.open) {
    return;
  }
  if (box.dataset.loaded) {
    return;
  }
  box.dataset.loaded = "1";
  try {
    const response = await fetch(box.dataset.slotsUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      throw new Error(String(response.status));
    }
    renderSlots(box, await response.json());
  } catch (error) {
    const note = document.createElement("p");
    note.className = "problems";
    note.textContent = box.dataset.failed;
    box.querySelector(".move-slots-body").append(note);
    delete box.dataset.loaded;
  }
}, true);
