// The live session page: the criterion builder's fields, and drafts kept across redraws
// (the countdowns are session-clock.js's, the live stream live.js's). The page works
// without this file (the server owns every rule and the clock); this only makes it
// comfortable. No inline scripts: a CSP is coming.
(function () {
  "use strict";

  // ---------------------------------------------------------------- criterion builder
  // Show only the inputs a row's kind uses (all are shown without JavaScript).
  function refreshRow(row) {
    var kindSelect = row.querySelector("[data-kind]");
    var kind = kindSelect ? kindSelect.value : "";
    var opSelect = row.querySelector("[data-op]");
    var op = opSelect ? opSelect.value : "";
    row.querySelectorAll("[data-kinds]").forEach(function (field) {
      var kinds = field.getAttribute("data-kinds").split(" ");
      var show = kind !== "" && kinds.indexOf(kind) !== -1;
      if (show && field.hasAttribute("data-value")) {
        show = op !== "is_set" && op !== "is_not_set";
      }
      field.hidden = !show;
    });
  }
  function refreshBuilders(root) {
    (root || document).querySelectorAll("[data-row]").forEach(refreshRow);
  }
  document.addEventListener("change", function (event) {
    var row = event.target.closest && event.target.closest("[data-row]");
    if (row && (event.target.matches("[data-kind]") || event.target.matches("[data-op]"))) {
      refreshRow(row);
    }
  });

  // ---------------------------------------------------------------- drafts
  // What someone is typing survives a redraw (their own action elsewhere on the page, or
  // a reload when the facilitator moves the session). Kept in this tab only.
  var DRAFT = "hl-draft:";
  function textFields(form) {
    return form.querySelectorAll("textarea, input[type=text]");
  }
  function saveDraft(form) {
    var values = {};
    textFields(form).forEach(function (f) { if (f.name) values[f.name] = f.value; });
    try { sessionStorage.setItem(DRAFT + form.dataset.draft, JSON.stringify(values)); } catch (e) { /* full */ }
  }
  function restoreDrafts(root) {
    (root || document).querySelectorAll("form[data-draft]").forEach(function (form) {
      var key = DRAFT + form.dataset.draft;
      var sent = sessionStorage.getItem(key + ":sent");
      if (sent) {
        sessionStorage.removeItem(key + ":sent");
        if (!form.querySelector(".errorlist")) {
          sessionStorage.removeItem(key);
          return;
        }
      }
      var raw = sessionStorage.getItem(key);
      if (!raw) return;
      var values;
      try { values = JSON.parse(raw); } catch (e) { return; }
      textFields(form).forEach(function (f) {
        if (f.name && !f.value && values[f.name]) f.value = values[f.name];
      });
    });
  }
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-draft]");
    if (form) saveDraft(form);
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-draft]")) {
      var submitter = event.submitter;
      // Adding or removing a criterion row is not sending the entry.
      if (!(submitter && submitter.name === "builder")) {
        sessionStorage.setItem(DRAFT + form.dataset.draft + ":sent", "1");
      }
    }
    // One click, one request: a second click on "Next" or "Run test" would be refused by
    // the server anyway, this spares the round trip.
    var once = form.querySelector && form.querySelector("[data-once]");
    if (once) window.setTimeout(function () { once.disabled = true; }, 0);
  }, true);

  // "Write down what this tells us" next to a result: the finding form, linked to it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-finding-for]");
    if (!link) return;
    var select = document.getElementById("id_finding_test");
    var text = document.getElementById("id_finding_text");
    if (!select || !text) return;
    event.preventDefault();
    select.value = link.getAttribute("data-finding-for");
    text.scrollIntoView({ block: "center" });
    text.focus({ preventScroll: true });
  });

  // On a phone the stepper scrolls sideways: show the current step.
  function showCurrentStep() {
    var current = document.querySelector(".session-steps .is-current");
    var list = current && current.parentElement;
    if (list && list.scrollWidth > list.clientWidth) {
      list.scrollLeft = current.offsetLeft - list.clientWidth / 2 + current.clientWidth / 2;
    }
  }

  function settle(root) {
    showCurrentStep();
    refreshBuilders(root);
    restoreDrafts(root);
  }
  document.addEventListener("DOMContentLoaded", function () { settle(document); });
  document.addEventListener("htmx:afterSettle", function (event) { settle(event.target); });
})();
