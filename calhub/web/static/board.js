// The grade board, live: when the hub says something changed (live.js dispatches
// "calhub:changed"), the board fetches itself again (live.js's followPage) and swaps in the
// new table and count, keeping where the person had scrolled. The board works without this
// script.
"use strict";

(function () {
  const scroller = document.getElementById("board-scroll");
  if (!scroller || !window.calhub) {
    return;
  }

  function swap(page) {
    const table = page.getElementById("board");
    const count = page.querySelector(".board-count");
    if (!table) {
      return true;
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
    return true;
  }

  window.calhub.followPage(swap, 3000);
})();
