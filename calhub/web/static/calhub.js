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
