// Chart legends that toggle their series (issue 11). Without this script every legend
// still lists every series, and the smaller ones beyond the first six are only in the
// table. Loaded by each chart include: a legend is wired once.
(function () {
  "use strict";

  function wire(legend) {
    if (legend.dataset.wired) return;
    legend.dataset.wired = "1";
    legend.classList.add("is-toggleable");
    legend.querySelectorAll(".legend-item[data-controls]").forEach(function (item) {
      var series = document.getElementById(item.dataset.controls);
      if (!series) return;
      item.setAttribute("role", "button");
      item.setAttribute("tabindex", "0");
      item.setAttribute("aria-controls", item.dataset.controls);
      item.setAttribute("aria-pressed", series.classList.contains("is-off") ? "false" : "true");
      function toggle() {
        var off = series.classList.toggle("is-off");
        item.classList.toggle("is-off", off);
        item.setAttribute("aria-pressed", off ? "false" : "true");
      }
      item.addEventListener("click", toggle);
      item.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          toggle();
        }
      });
    });
  }

  function wireAll(root) {
    (root || document).querySelectorAll("[data-chart-legend]").forEach(wire);
  }

  document.addEventListener("DOMContentLoaded", function () { wireAll(document); });
  // Pages that swap their body in with htmx (a dashboard computing) bring new charts.
  document.addEventListener("htmx:afterSwap", function (event) { wireAll(event.target); });
  if (document.readyState !== "loading") wireAll(document);
})();
