// The session's sticky clock (templates/worksessions/_clock.html), on the session page
// and on the explore tools opened from it. The server draws the deadline and its own
// "now"; this only counts down between redraws, from the server's time, whatever this
// laptop's clock says. At zero it says so: a timebox is advisory (the server refuses
// nothing), Test and learn's end is enforced by the server anyway.
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? h + ":" + pad(m) + ":" + pad(r) : m + ":" + pad(r);
  }

  function tick() {
    document.querySelectorAll("[data-clock-deadline]").forEach(function (el) {
      if (!el.dataset.clockOffset) {
        el.dataset.clockOffset = String(Date.parse(el.dataset.clockNow) - Date.now());
      }
      var serverNow = Date.now() + Number(el.dataset.clockOffset);
      var left = (Date.parse(el.dataset.clockDeadline) - serverNow) / 1000;
      var time = el.querySelector("[data-clock-time]");
      if (time) time.textContent = clock(Math.ceil(left));
      el.classList.toggle("is-warning", left > 0 && left < 60);
      if (left <= 0 && !el.classList.contains("is-over")) {
        el.classList.add("is-over");
        var caption = el.querySelector("[data-clock-caption]");
        if (caption) caption.textContent = caption.dataset.overText;
      }
    });
  }

  window.setInterval(tick, 500);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
})();
