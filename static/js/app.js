// Small behaviours shared by every page. Pages work without this file; it only adds
// comfort. No inline scripts anywhere: a Content-Security-Policy is coming.
(function () {
  "use strict";

  // Menus are <details data-menu>: close them on Escape (focus back on their summary)
  // and on a click outside; opening one closes the others.
  function openMenus() {
    return document.querySelectorAll("details[data-menu][open]");
  }
  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) summary.focus();
    });
  });
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details[data-menu]") || !menu.open) return;
    openMenus().forEach(function (other) {
      if (other !== menu) other.removeAttribute("open");
    });
  }, true);

  // <button data-copy="#input-id">: copy the input's value, say so on the button and to
  // screen readers.
  function announce(button, text) {
    var label = button.querySelector("[data-copy-label]") || button;
    var before = label.textContent;
    label.textContent = text;
    button.classList.add("is-copied");
    window.setTimeout(function () {
      label.textContent = before;
      button.classList.remove("is-copied");
    }, 1800);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value || source.textContent;
    function fallback() {
      source.focus();
      if (source.select) source.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      announce(button, ok ? "Copied" : "Press Ctrl+C");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        announce(button, "Copied");
      }, fallback);
    } else {
      fallback();
    }
  });

  // Selecting a readonly link field selects all of it, ready to copy by hand.
  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el.matches && el.matches("input[readonly][data-select-on-focus]")) el.select();
  });

  // Messages can be dismissed (their close buttons are hidden until this file runs).
  function enableDismiss(root) {
    root.querySelectorAll("[data-dismiss][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (!button) return;
    var box = button.closest(".message");
    if (box) box.remove();
  });

  // <form data-confirm="Remove Tom from the team?">: ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  // A step bar that scrolls sideways (a phone) shows its current step, not the first ones.
  function showCurrentStep(root) {
    var bars = root.querySelectorAll ? root.querySelectorAll(".steps") : [];
    Array.prototype.forEach.call(bars, function (bar) {
      var current = bar.querySelector("[aria-current='step']");
      if (!current || bar.scrollWidth <= bar.clientWidth) return;
      var box = bar.getBoundingClientRect(), step = current.getBoundingClientRect();
      bar.scrollLeft += (step.left - box.left) - (box.width - step.width) / 2;
    });
  }

  function ready() {
    enableDismiss(document);
    showCurrentStep(document);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    enableDismiss(event.target);
    showCurrentStep(event.target.parentNode || document);
  });
})();
