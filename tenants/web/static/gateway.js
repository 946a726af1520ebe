// mlgateway UI helpers: no inline scripts (the pages' Content-Security-Policy forbids them).
"use strict";
document.addEventListener("click", (event) => {
  const back = event.target.closest("[data-back]");
  if (back && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const message = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.querySelectorAll("[data-select-all]").forEach((box) => {
  box.addEventListener("change", () => {
    document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`).forEach((item) => {
      item.checked = box.checked;
    });
  });
});
document.querySelectorAll("[data-only-differences]").forEach((box) => {
  const apply = () => document.body.classList.toggle("only-differences", box.checked);
  box.addEventListener("change", apply);
  apply();
});
