// The grade board, live: when the hub says something changed (live.js dispatches
// "calhub:changed"), the board fetches itself again and swaps in the new table and count,
// keeping where the person had scrolled. The board works without this script.
"use strict";

(function () {
  const scroller = document.getElementById("board-scroll");
  if (!scroller) {
    return;
  }
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
      if (!response.ok || response.redirected) {
        return;
      }
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const table = page.getElementById("board");
      const count = page.querySelector(".board-count");
      if (!table) {
        return;
      }
      const left = scroller.scrollLeft;
      const top = scroller.scrollTop;
      document.getElementById("board").replaceWith(document.adoptNode(table));
      const shown = document.querySelector(".board-count");
      if (count && shown) {
        shown.replaceWith(document.adoptNode(count));
      }
      scroller.scrollLeft = left;
      scroller.scrollTop = top;
      scroller.dataset.updated = new Date().toISOString();
    } catch (error) {
      again = true;
    } finally {
      busy = false;
      if (again) {
        again = false;
        window.setTimeout(refresh, 3000);
      }
    }
  }

  document.addEventListener("calhub:changed", refresh);
})();
