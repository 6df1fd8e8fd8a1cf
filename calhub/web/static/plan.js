// The merged plan: event details in a dialog, and the month/week grid (FullCalendar).
//
// FullCalendar runs in its UTC mode and /api/events sends the hub's wall-clock times
// without an offset, so the grid shows school time whatever zone the viewer's device is
// in. Event texts are only ever set as text (FullCalendar renders titles as text nodes;
// the tooltip is a DOM property), never as HTML.
"use strict";

(function () {
  const dialog = document.getElementById("event-dialog");
  const dialogBody = document.getElementById("event-dialog-body");

  async function showEvent(url) {
    if (!dialog || typeof dialog.showModal !== "function") {
      window.location.href = url;
      return;
    }
    const separator = url.includes("?") ? "&" : "?";
    try {
      const response = await fetch(url + separator + "fragment=1", {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      // Server-rendered by Jinja with autoescaping: event texts arrive escaped.
      dialogBody.innerHTML = await response.text();
      // An approval from the dialog comes back to this plan page, not to the event page.
      for (const next of dialogBody.querySelectorAll("input[name=next]")) {
        next.value = window.location.pathname + window.location.search;
      }
      dialog.showModal();
      dialog.dataset.url = url;
    } catch (error) {
      window.location.href = url;
    }
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.ev-title");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    event.preventDefault();
    showEvent(link.getAttribute("href"));
  });
  if (dialog) {
    // A click on the backdrop (the dialog element itself, outside its content) closes it.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) {
        dialog.close();
      }
    });
  }

  const element = document.getElementById("calendar");
  if (!element || !window.FullCalendar) {
    return;
  }
  const data = element.dataset;
  const narrow = window.matchMedia("(max-width: 640px)").matches;
  let view = data.view;
  if (narrow && view === "timeGridWeek") {
    // Seven time columns do not fit a phone; the week as a list does.
    view = "listWeek";
  }

  function showError(text) {
    const note = document.createElement("p");
    note.className = "note";
    note.setAttribute("role", "alert");
    note.textContent = text;
    element.before(note);
  }

  // The week grid spans 08:00-20:00, widened to the hours of the events shown, so an
  // evening or early event is never cut off.
  const DAY_START = 8 * 60;
  const DAY_END = 20 * 60;
  function clock(minutes) {
    const hours = String(Math.floor(minutes / 60)).padStart(2, "0");
    return hours + ":" + String(minutes % 60).padStart(2, "0") + ":00";
  }
  function fitHours(events) {
    if (!calendar.view.type.startsWith("timeGrid")) {
      return;
    }
    let first = DAY_START;
    let last = DAY_END;
    for (const event of events) {
      if (event.allDay || !event.start) {
        continue;
      }
      const start = event.start.getUTCHours() * 60 + event.start.getUTCMinutes();
      const end = event.end || event.start;
      const sameDay = end.toISOString().slice(0, 10) === event.start.toISOString().slice(0, 10);
      const stop = sameDay ? end.getUTCHours() * 60 + end.getUTCMinutes() : 24 * 60;
      first = Math.min(first, Math.floor(start / 60) * 60);
      last = Math.max(last, Math.ceil(stop / 60) * 60);
    }
    if (calendar.getOption("slotMinTime") !== clock(first)) {
      calendar.setOption("slotMinTime", clock(first));
    }
    if (calendar.getOption("slotMaxTime") !== clock(last)) {
      calendar.setOption("slotMaxTime", clock(last));
    }
  }

  // Dragging (or stretching) an event the account may change moves it: the hub stores the
  // move like a phone's change, clash check included. A refused move goes back, with why.
  function wallClock(date) {
    // FullCalendar runs in UTC mode on the hub's wall clock: the UTC fields are school time.
    return date.toISOString().slice(0, 16);
  }
  function note(text, kind) {
    const box = document.createElement("p");
    box.className = "flash flash-" + kind;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.textContent = text;
    element.before(box);
    setTimeout(() => box.remove(), 8000);
  }
  async function moveEvent(info) {
    const props = info.event.extendedProps;
    const body = {
      calendar: props.calendar,
      uid: props.uid,
      recurrence_id: props.recurrenceId || "",
      start: wallClock(info.event.start),
      end: wallClock(info.event.end || info.event.start),
    };
    try {
      const response = await fetch(data.moveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        throw new Error(answer.error || String(response.status));
      }
      note(data.moved, "ok");
      // The clash marks of both events changed: ask the hub again.
      calendar.refetchEvents();
    } catch (error) {
      info.revert();
      note(data.moveFailed + " " + error.message, "error");
    }
  }

  const calendar = new window.FullCalendar.Calendar(element, {
    timeZone: "UTC",
    locale: data.locale,
    initialView: view,
    initialDate: data.date,
    now: data.now,
    headerToolbar: false,
    firstDay: 1,
    height: "auto",
    nowIndicator: true,
    dayMaxEvents: narrow ? 2 : 4,
    // Coloured blocks (not dots) in the month grid: the calendar colour is the cue.
    eventDisplay: "block",
    displayEventEnd: false,
    moreLinkText: (count) => "+" + count,
    slotMinTime: clock(DAY_START),
    slotMaxTime: clock(DAY_END),
    eventsSet: fitHours,
    // Clashing events side by side in the week grid, never one hiding the other.
    slotEventOverlap: false,
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    events: { url: data.feed, failure: () => showError(data.error) },
    // Only events marked editable by the hub can be dragged; never into all-day.
    editable: false,
    eventDrop: moveEvent,
    eventResize: moveEvent,
    eventAllow: (span) => !span.allDay,
    eventClick: (info) => {
      info.jsEvent.preventDefault();
      if (info.event.url) {
        showEvent(info.event.url);
      }
    },
    eventDidMount: (info) => {
      const props = info.event.extendedProps;
      const flagged = props.default_audience === true;
      const hint = flagged ? data.defaultAudience + ": " + data.defaultAudienceHint : "";
      // The audience stays last: it is what the tooltip ends with.
      info.el.title = [info.event.title, props.calendarName, props.location, hint, props.audience]
        .filter(Boolean)
        .join(" · ");
      if (flagged) {
        // The legend's mark for "the event names no audience" (the list's badge has it
        // too): a shape, not a colour, with its meaning as the accessible name.
        const mark = document.createElement("span");
        mark.className = "audience-mark";
        mark.textContent = "◌";
        mark.setAttribute("role", "img");
        mark.setAttribute("aria-label", data.defaultAudience);
        mark.title = hint;
        const title = info.el.querySelector(".fc-event-title, .fc-list-event-title") || info.el;
        title.prepend(mark, " ");
      }
    },
  });
  calendar.render();
  const agenda = document.getElementById("agenda");
  if (agenda) {
    agenda.classList.add("grid-shown");
    if (view.startsWith("list")) {
      // The grid is itself a list here: the server's list below would repeat it.
      agenda.classList.add("grid-is-list");
    }
  }
})();
