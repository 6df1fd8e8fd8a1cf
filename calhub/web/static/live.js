// calhub live updates (issue 15): the open-clash badge, the clash list and a hook for other
// pages follow writes without a reload. Pages work without it.
//
// The stream (/api/live/stream, Server-Sent Events) tells of every change; the server ends
// each stream after a while and EventSource reconnects. When the stream is refused (the
// server runs only a few at once) or fails, the page polls /api/live every 1.5 s, and tries
// the stream again later. A hidden tab closes its stream, so it holds no server worker.
//
// Every change is also a DOM event other pages listen to:
//   document.addEventListener("calhub:changed", (e) => e.detail /* {version, open, hard, soft} */)
// Texts are set as text only.
"use strict";

// Pages that show what changed (the clash list here, the grade board in board.js) follow
// changes with followPage(apply, retryMs): on each "calhub:changed" this page is fetched
// again, one fetch at a time, and the parsed copy handed to apply(page), which swaps in its
// part and returns false when it must try again later (after retryMs).
(() => {
  function followPage(apply, retryMs) {
    let busy = false;
    let again = false;

    async function refresh() {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        const response = await fetch(window.location.href, {
          credentials: "same-origin",
          cache: "no-store",
          headers: { Accept: "text/html" },
        });
        if (response.ok && !response.redirected) {
          const page = new DOMParser().parseFromString(await response.text(), "text/html");
          if (apply(page) === false) {
            again = true;
          }
        }
      } catch (error) {
        again = true; // offline for a moment, or the page changed under us: later
      } finally {
        busy = false;
        if (again) {
          again = false;
          window.setTimeout(refresh, retryMs);
        }
      }
    }

    document.addEventListener("calhub:changed", () => {
      refresh();
    });
  }

  window.calhub = Object.freeze({ followPage });
})();

(() => {
  const status = document.getElementById("live-status");
  if (!status || !status.dataset.pollUrl) {
    return;
  }
  const POLL_MS = 1500;
  const STREAM_AGAIN_MS = 60000;
  const OPEN_AFTER_MS = 700;
  let version = status.dataset.version || "";
  let etag = "";
  let source = null;
  let pollTimer = 0;
  let streamAgainTimer = 0;
  let lastOpen = null;
  let signedOut = false;

  function setBadge(data) {
    const badge = document.getElementById("open-count");
    if (badge) {
      badge.textContent = String(data.open);
      badge.classList.toggle("badge-zero", data.open === 0);
    }
    if (lastOpen !== null && lastOpen !== data.open) {
      status.textContent = (status.dataset.countText || "{count}").replace("{count}", String(data.open));
    }
    lastOpen = data.open;
  }

  function received(data) {
    if (!data || typeof data.version !== "string") {
      return;
    }
    setBadge(data);
    if (data.version === version) {
      return;
    }
    const previous = version;
    version = data.version;
    document.dispatchEvent(new CustomEvent("calhub:changed", { detail: { ...data, previous } }));
  }

  async function poll() {
    pollTimer = 0;
    if (document.hidden) {
      return;
    }
    try {
      const headers = { Accept: "application/json" };
      if (etag) {
        headers["If-None-Match"] = etag;
      }
      const response = await fetch(status.dataset.pollUrl, {
        credentials: "same-origin",
        cache: "no-store",
        headers,
      });
      if (response.status === 401) {
        signedOut = true; // nothing more to follow, by stream or poll
        window.clearTimeout(streamAgainTimer);
        return;
      }
      if (response.ok) {
        etag = response.headers.get("ETag") || "";
        received(await response.json());
      }
    } catch (error) {
      // Offline for a moment: the next poll tries again.
    }
    if (!source) {
      pollTimer = window.setTimeout(poll, POLL_MS);
    }
  }

  function startPolling() {
    if (signedOut) {
      return;
    }
    if (!pollTimer) {
      pollTimer = window.setTimeout(poll, 0);
    }
    if (!streamAgainTimer) {
      streamAgainTimer = window.setTimeout(() => {
        streamAgainTimer = 0;
        openStream();
      }, STREAM_AGAIN_MS);
    }
  }

  function stopPolling() {
    window.clearTimeout(pollTimer);
    pollTimer = 0;
  }

  function closeStream() {
    if (source) {
      source.close();
      source = null;
    }
  }

  function openStream() {
    if (source || document.hidden || signedOut) {
      return;
    }
    if (typeof window.EventSource !== "function") {
      startPolling();
      return;
    }
    const stream = new EventSource(status.dataset.streamUrl);
    source = stream;
    stream.onopen = () => {
      stopPolling();
    };
    stream.onmessage = (event) => {
      try {
        received(JSON.parse(event.data));
      } catch (error) {
        // Not ours to understand: wait for the next one.
      }
    };
    stream.onerror = () => {
      // CONNECTING: the server ended the stream and the browser reconnects by itself.
      // CLOSED: refused (503, 401) or broken: poll instead.
      if (stream.readyState === EventSource.CLOSED && source === stream) {
        source = null;
        startPolling();
      }
    };
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      closeStream();
      stopPolling();
    } else {
      openStream();
      if (!source) {
        startPolling();
      }
    }
  });

  // The clash list: fetch this page again and put in its list, leaving alone any card the
  // person is using (typing a comment, a field in focus, its free times opened).
  const list = document.getElementById("clash-list");
  const note = document.getElementById("clash-list-status");
  function inUse(card) {
    if (card.contains(document.activeElement) || card.querySelector("details[open]")) {
      return true;
    }
    // Something typed and not sent yet (an approval's comment).
    return Array.from(card.querySelectorAll("input, textarea")).some(
      (field) => (field.type === "text" || field.tagName === "TEXTAREA") && field.value !== field.defaultValue,
    );
  }

  function holder(parent, node) {
    // The child of ``parent`` that is or holds ``node``.
    let current = node;
    while (current && current.parentNode !== parent) {
      current = current.parentNode;
    }
    return current;
  }

  function merge(oldParent, newParent, kept) {
    // Make oldParent's children newParent's, except that each kept card (and each element
    // holding one) stays the very node it is, never removed from the page.
    const result = [];
    for (const fresh of Array.from(newParent.childNodes)) {
      if (fresh.nodeType === Node.ELEMENT_NODE) {
        if (fresh.id && kept.has(fresh.id)) {
          result.push(kept.get(fresh.id));
          continue;
        }
        const inside = Array.from(kept.values()).find((card) => fresh.querySelector("#" + CSS.escape(card.id)));
        const counterpart = inside ? holder(oldParent, inside) : null;
        if (counterpart && counterpart.nodeType === Node.ELEMENT_NODE && counterpart.tagName === fresh.tagName) {
          merge(counterpart, fresh, kept);
          counterpart.className = fresh.className;
          result.push(counterpart);
          continue;
        }
      }
      result.push(fresh);
    }
    const staying = new Set(result.filter((node) => node.parentNode === oldParent));
    for (const child of Array.from(oldParent.childNodes)) {
      if (!staying.has(child)) {
        child.remove();
      }
    }
    let anchor = oldParent.firstChild;
    for (const node of result) {
      if (node === anchor) {
        anchor = anchor.nextSibling;
      } else {
        oldParent.insertBefore(node, anchor);
      }
    }
  }

  function refreshList(page) {
    const fresh = page.getElementById("clash-list");
    if (!fresh) {
      return true;
    }
    const kept = new Map();
    for (const card of list.querySelectorAll("article.clash")) {
      if (inUse(card)) {
        kept.set(card.id, card);
      }
    }
    for (const card of kept.values()) {
      if (!fresh.querySelector("#" + CSS.escape(card.id))) {
        // That clash left the list while someone is using its card: wait for them.
        return false;
      }
    }
    merge(list, document.adoptNode(fresh), kept);
    if (note) {
      const time = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      }).format(new Date());
      note.textContent = (note.dataset.updated || "{time}").replace("{time}", time);
    }
    return true;
  }

  if (list) {
    window.calhub.followPage(refreshList, 5000);
  }

  // A moment after the page is up: the page this one replaced has then surely given back
  // its stream, and a page left at once never takes one. The page carries the version it
  // was made at, so a write in between still shows.
  window.setTimeout(openStream, OPEN_AFTER_MS);
})();
