// The e-form's fields, improved (progressive enhancement: templates/eform/_fields.html works
// without this file). Conditional fields are hidden while their condition does not hold; the
// commune list follows the province chosen, without the "Cập nhật danh sách xã" round trip; a
// place shows only the inputs of the kind chosen.
// The server drops the values of fields whose condition does not hold, whatever is posted.
(function () {
  "use strict";

  // the current values of the input called `name` (and of its sub-parts `name.day`…)
  function valuesOf(form, name) {
    var out = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name !== name && el.name.indexOf(name + ".") !== 0) { return; }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      if (el.type === "submit" || el.type === "hidden" && el.name !== name) { return; }
      if (el.value !== "") { out.push(el.value); }
    });
    // a verified value is shown, not an input: its value is on the element showing it
    form.querySelectorAll("[data-locked]").forEach(function (el) {
      if (el.getAttribute("data-locked") !== name) { return; }
      try {
        var value = JSON.parse(el.getAttribute("data-value"));
        (Array.isArray(value) ? value : [value]).forEach(function (v) {
          if (v !== null && v !== "" && typeof v !== "object") { out.push(String(v)); }
          else if (v !== null && typeof v === "object") { out.push("filled"); }
        });
      } catch (e) { /* nothing */ }
    });
    return out;
  }

  // a condition: a leaf reads one input; {all}, {any} and {not} combine others
  function holds(form, when) {
    if (when.all) { return when.all.every(function (c) { return holds(form, c); }); }
    if (when.any) { return when.any.some(function (c) { return holds(form, c); }); }
    if (when["not"]) { return !holds(form, when["not"]); }
    var values = valuesOf(form, when.name);
    if (when.empty) { return values.length === 0; }
    if (Object.prototype.hasOwnProperty.call(when, "equals")) {
      return values.indexOf(String(when.equals)) !== -1;
    }
    if (when["in"]) {
      return when["in"].some(function (v) { return values.indexOf(String(v)) !== -1; });
    }
    if (when.kind === "boolean" || when.kind === "commitment") {
      return values.indexOf("true") !== -1;
    }
    return values.length > 0;
  }

  function conditions(root) {
    var form = root.closest("form");
    var dependent = root.querySelectorAll("[data-when]");
    if (!form || !dependent.length) { return; }
    var rules = [];
    dependent.forEach(function (el) {
      try { rules.push([el, JSON.parse(el.getAttribute("data-when"))]); } catch (e) { /* none */ }
      el.querySelectorAll("[data-when-hint]").forEach(function (hint) { hint.hidden = true; });
    });
    function update() {
      rules.forEach(function (rule) { rule[0].hidden = !holds(form, rule[1]); });
    }
    form.addEventListener("change", update);
    form.addEventListener("input", update);
    update();
  }

  // a place: only the inputs of the kind chosen (in Vietnam, abroad, a former unit's name)
  function places(root) {
    root.querySelectorAll("[data-place]").forEach(function (place) {
      var radios = place.querySelectorAll("[data-place-kind]");
      if (!radios.length) { return; }
      function update() {
        var chosen = "";
        radios.forEach(function (r) { if (r.checked) { chosen = r.value; } });
        place.querySelectorAll("[data-place-branch]").forEach(function (branch) {
          branch.hidden = branch.getAttribute("data-place-branch") !== chosen;
        });
      }
      radios.forEach(function (r) { r.addEventListener("change", update); });
      update();
    });
  }

  function communes(root) {
    var base = root.getAttribute("data-communes-url");
    var cache = {};
    root.querySelectorAll("select[data-province]").forEach(function (province) {
      var commune = document.getElementById(province.getAttribute("data-province"));
      if (!commune || !base) { return; }
      var refresh = province.closest("fieldset").querySelector("[data-refresh]");
      if (refresh) { refresh.hidden = true; }
      function fill(list) {
        var chosen = commune.value;
        commune.textContent = "";
        var placeholder = document.createElement("option");
        placeholder.value = "";
        placeholder.textContent = commune.getAttribute(
          list.length ? "data-placeholder" : "data-placeholder-empty");
        commune.appendChild(placeholder);
        list.forEach(function (unit) {
          var option = document.createElement("option");
          option.value = unit.code;
          option.textContent = unit.name;
          if (unit.code === chosen) { option.selected = true; }
          commune.appendChild(option);
        });
      }
      province.addEventListener("change", function () {
        var code = province.value;
        if (!code) { fill([]); return; }
        if (cache[code]) { fill(cache[code]); return; }
        fetch(base + "/" + encodeURIComponent(code) + "/communes",
              { headers: { "Accept": "application/json" }, credentials: "same-origin" })
          .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
          .then(function (list) { cache[code] = list; fill(list); })
          .catch(function () { if (refresh) { refresh.hidden = false; } });
      });
    });
  }

  window.tokhai = window.tokhai || {};
  window.tokhai.ready = window.tokhai.ready || [];
  window.tokhai.ready.push(function () {
    document.querySelectorAll("[data-eform]").forEach(function (root) {
      conditions(root);
      places(root);
      communes(root);
    });
  });
})();
