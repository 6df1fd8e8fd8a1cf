// calhub: copy buttons for feed addresses (the feeds page, the public page). Without this
// script the buttons stay hidden and the addresses can still be selected and copied.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (!navigator.clipboard) {
    return;
  }
  for (const button of document.querySelectorAll("button.copy-button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) {
      continue;
    }
    const label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", () => {
      navigator.clipboard.writeText(source.textContent.trim()).then(
        () => {
          button.textContent = button.dataset.done || "✓";
          setTimeout(() => { button.textContent = label; }, 2000);
        },
        () => { button.textContent = label; },
      );
    });
  }
});
