// Phase 1 pages. Everything works without this file; it only adds comfort.
// No inline scripts anywhere (a Content-Security-Policy is coming).
(function () {
  "use strict";

  // A dashboard whose numbers are out of date recomputes by itself once on load.
  document.querySelectorAll("[data-auto-submit]").forEach(function (button) {
    var form = button.closest("form");
    if (form && !sessionStorage.getItem("dash-auto:" + location.pathname)) {
      sessionStorage.setItem("dash-auto:" + location.pathname, "1");
      form.requestSubmit ? form.requestSubmit(button) : form.submit();
    }
  });
  if (!document.querySelector("[data-auto-submit]")) {
    sessionStorage.removeItem("dash-auto:" + location.pathname);
  }

  // Legend: clicking a bucket dims the other lines of its chart (and again to undo).
  document.addEventListener("click", function (event) {
    var item = event.target.closest(".legend-item");
    if (!item) return;
    var figure = item.closest("figure");
    var items = Array.prototype.slice.call(figure.querySelectorAll(".legend-item"));
    var index = items.indexOf(item);
    var series = figure.querySelectorAll(".chart-series");
    var active = item.classList.toggle("is-active");
    items.forEach(function (other) { if (other !== item) other.classList.remove("is-active"); });
    series.forEach(function (group, i) {
      group.classList.toggle("is-dimmed", active && i !== index);
    });
  });

  // Catalog: say how many segments are ticked.
  var catalog = document.querySelector("[data-catalog-form]");
  if (catalog) {
    var count = catalog.querySelector("[data-catalog-count]");
    catalog.addEventListener("change", function () {
      var n = catalog.querySelectorAll("input[name=catalog]:checked").length;
      if (count) count.textContent = n ? n + " ticked" : "";
    });
  }

  // Success form: show the fields of the chosen basis, preview the definition in plain
  // words as it is typed, and offer the names of another dataset when it changes.
  function successForm(form) {
    if (form.getAttribute("data-ready")) return;
    form.setAttribute("data-ready", "1");
    function showBasis() {
      var checked = form.querySelector("input[name=basis]:checked");
      var basis = checked ? checked.value : "events";
      form.querySelectorAll("[data-basis]").forEach(function (block) {
        block.hidden = block.getAttribute("data-basis") !== basis;
      });
    }
    var timer = null;
    function preview() {
      if (!window.htmx) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        window.htmx.ajax("POST", form.getAttribute("data-preview-url"), {
          source: form, target: "#preview", swap: "outerHTML", values: { preview: "1" }
        });
      }, 600);  // a preview job per pause in typing, not per key
    }
    form.addEventListener("change", function (event) {
      if (event.target.matches("[data-dataset-select]")) {
        if (!window.htmx) return;
        var params = new URLSearchParams(new FormData(form));
        params.delete("csrfmiddlewaretoken");
        window.htmx.ajax("GET", form.getAttribute("data-reload-url") + "?" + params.toString(), {
          target: "#success-form", swap: "outerHTML"
        });
        return;
      }
      if (event.target.name === "basis") showBasis();
      preview();
    });
    form.addEventListener("input", function (event) {
      if (event.target.matches("input[type=text], input[type=number]")) preview();
    });
    showBasis();
  }
  document.querySelectorAll("[data-success-form]").forEach(successForm);
  document.body.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-success-form]").forEach(successForm);
  });

  // Own segment form: show the fields of the chosen kind.
  var segmentForm = document.querySelector("[data-segment-form]");
  if (segmentForm) {
    var showKind = function () {
      var checked = segmentForm.querySelector("input[name=kind]:checked");
      var kind = checked ? checked.value : "property";
      segmentForm.querySelectorAll("[data-kind-fields]").forEach(function (block) {
        block.hidden = block.getAttribute("data-kind-fields").split(" ").indexOf(kind) < 0;
      });
    };
    segmentForm.addEventListener("change", function (event) {
      if (event.target.name === "kind") showKind();
    });
    showKind();
  }
})();
