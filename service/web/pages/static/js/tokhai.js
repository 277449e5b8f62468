// tokhai's pages work without JavaScript; this file only improves them (progressive
// enhancement). Each behaviour finds its elements by a data- attribute and does nothing when
// they are absent.
(function () {
  "use strict";

  // the error summary takes the focus, so that a screen reader reads it first
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  }

  // a form submits once: a second click while the first is on its way does nothing (the
  // server is idempotent as well; this saves the citizen a confusing second page)
  function submitOnce() {
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.submitted) { event.preventDefault(); return; }
        form.dataset.submitted = "1";
      });
    });
  }

  // a page shown again by the browser's Back button (from its cache) can be sent again
  function resetSubmitOnce(event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      delete form.dataset.submitted;
    });
  }

  // a link styled as a button (role="button") answers the Space key as a button does
  function spaceOnLinkButtons() {
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if ((event.key === " " || event.key === "Spacebar") && target.matches &&
          target.matches("a[role=button]")) {
        event.preventDefault();
        target.click();
      }
    });
  }

  window.tokhai = window.tokhai || {};
  window.addEventListener("pageshow", resetSubmitOnce);
  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    submitOnce();
    spaceOnLinkButtons();
    (window.tokhai.ready || []).forEach(function (fn) { fn(); });
  });
})();
