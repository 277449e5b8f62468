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

  window.tokhai = window.tokhai || {};
  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    submitOnce();
    (window.tokhai.ready || []).forEach(function (fn) { fn(); });
  });
})();
