/* The designers' editor (service/web/pages/design.py), progressive enhancement only: line
   numbers beside the definition's text area, and each problem's link (the error summary's and
   the list at the field) puts the caret on the problem's line. Without it the page works the
   same: the problems name their line. */
(function () {
  "use strict";
  var area = document.getElementById("definition");
  var box = area && area.closest("[data-editor]");
  if (!box) { return; }
  var gutter = document.createElement("pre");
  gutter.className = "design-editor__gutter";
  gutter.setAttribute("aria-hidden", "true");
  box.insertBefore(gutter, area);
  box.classList.add("design-editor--numbered");
  var shown = 0;
  function number() {
    var lines = area.value.split("\n").length;
    if (lines !== shown) {
      var out = [];
      for (var i = 1; i <= lines; i += 1) { out.push(i); }
      gutter.textContent = out.join("\n") + "\n";
      shown = lines;
    }
    gutter.scrollTop = area.scrollTop;
  }
  area.addEventListener("input", number);
  area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
  number();

  function goTo(line) {
    var lines = area.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i += 1) { start += lines[i].length + 1; }
    var end = start + (lines[line - 1] || "").length;
    area.focus();
    area.setSelectionRange(start, end);
    var height = area.scrollHeight / Math.max(lines.length, 1);
    area.scrollTop = Math.max(0, (line - 5) * height);
    gutter.scrollTop = area.scrollTop;
  }
  var items = document.querySelectorAll("#definition-error li");
  var summary = document.querySelectorAll("[data-error-summary] a[href='#definition']");
  Array.prototype.forEach.call(items, function (item, index) {
    var line = parseInt(item.getAttribute("data-line") || "", 10);
    if (!line) { return; }
    var link = summary[index];
    if (link) {
      link.addEventListener("click", function (event) { event.preventDefault(); goTo(line); });
    }
  });
})();
