// The values in the data beside value inputs (analytics/value_hints.py): when a value
// input's property is chosen, give the input that property's datalist (its common values
// with user counts; typing filters them) and show its summary (min, quartiles, max).
// Free text stays possible. Markup: an input with data-value-from="scope:selectId ...",
// where the select's value, prefixed with scope (or alone when scope is empty), names a
// datalist[data-value-keys]; a [data-value-hint] next to the input gets the summary.
// No inline scripts (Content-Security-Policy); loaded once however often it is included.
(function () {
  "use strict";
  if (window.hlValueLists) return;
  window.hlValueLists = true;

  function listFor(input) {
    var form = input.form || document;
    var sources = (input.getAttribute("data-value-from") || "").split(" ");
    for (var i = 0; i < sources.length; i++) {
      var parts = sources[i].split(":");
      var scope = parts.length > 1 ? parts[0] : "";
      var select = document.getElementById(parts[parts.length - 1]);
      // A select in a hidden field belongs to another kind of condition.
      if (!select || !select.value || select.closest("[hidden]")) continue;
      var key = scope ? scope + ":" + select.value : select.value;
      var lists = form.querySelectorAll("datalist[data-value-list]");
      for (var j = 0; j < lists.length; j++) {
        if (lists[j].getAttribute("data-value-keys").split("\n").indexOf(key) !== -1) {
          return lists[j];
        }
      }
    }
    return null;
  }

  function refresh(input) {
    var list = listFor(input);
    if (list) input.setAttribute("list", list.id); else input.removeAttribute("list");
    var field = input.parentElement;
    var hint = field && field.querySelector("[data-value-hint]");
    if (!hint && list && field) {
      hint = document.createElement("small");
      hint.className = "value-hint muted";
      hint.setAttribute("data-value-hint", "");
      input.insertAdjacentElement("afterend", hint);
    }
    if (hint) {
      hint.textContent = list ? list.getAttribute("data-summary") : "";
      hint.hidden = !hint.textContent;
    }
  }

  function refreshAll(root) {
    (root || document).querySelectorAll("input[data-value-from]").forEach(refresh);
  }

  document.addEventListener("change", function (event) {
    // After the page's own handlers (which hide the fields another kind uses).
    if (event.target.matches && event.target.matches("select")) {
      window.setTimeout(function () { refreshAll(); }, 0);
    }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("input[data-value-from]")) {
      refresh(event.target);
    }
  });
  document.addEventListener("htmx:afterSettle", function () { refreshAll(); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { refreshAll(); });
  } else {
    refreshAll();
  }
})();
