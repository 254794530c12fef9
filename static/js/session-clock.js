// The session's countdowns, from the server's time whatever this laptop's clock says:
// the sticky clock (templates/worksessions/_clock.html: Test and learn's, or the
// facilitator's advisory timebox) on the session page and the explore tools opened from
// it, and the Test and learn timer in the session bar. Each element carries the deadline
// and the server's "now" when it was drawn; this only counts down between redraws.
// Test and learn's end is enforced by the server; here its forms are disabled at zero and
// enabled again when the facilitator extends the timer (a pushed bar with a later
// deadline), with no reload.
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? h + ":" + pad(m) + ":" + pad(r) : m + ":" + pad(r);
  }
  // Seconds left until `deadline`, by the server's clock as drawn into `el`.
  function secondsLeft(el, deadline, now) {
    if (!el.dataset.offset) el.dataset.offset = String(Date.parse(now) - Date.now());
    return (Date.parse(deadline) - (Date.now() + Number(el.dataset.offset))) / 1000;
  }

  function stickyClocks() {
    document.querySelectorAll("[data-clock-deadline]").forEach(function (el) {
      var left = secondsLeft(el, el.dataset.clockDeadline, el.dataset.clockNow);
      var time = el.querySelector("[data-clock-time]");
      if (time) time.textContent = clock(Math.ceil(left));
      el.classList.toggle("is-warning", left > 0 && left < 60);
      el.classList.toggle("is-over", left <= 0);
      var caption = el.querySelector("[data-clock-caption]");
      if (caption && left <= 0) caption.textContent = caption.dataset.overText;
    });
  }

  function digTimer() {
    var el = document.querySelector("[data-deadline]");
    if (!el) return;
    var left = secondsLeft(el, el.dataset.deadline, el.dataset.now);
    el.textContent = clock(Math.ceil(left));
    el.classList.toggle("timer-warning", left > 0 && left < 180);
    el.classList.toggle("timer-expired", left <= 0);
    var over = left <= 0;
    if (over && !el.dataset.expired) {
      el.dataset.expired = "1";
      var caption = document.querySelector("[data-timer-caption]");
      if (caption) caption.textContent = "Time is up: new findings and ideas are closed.";
    }
    // The server refuses them anyway; say so before anyone types in vain, and take it
    // back when the timer is extended.
    document.querySelectorAll("[data-dig-form] button[type=submit]").forEach(function (b) {
      if (over && !b.disabled) {
        b.disabled = true;
        b.dataset.timeUp = "1";
        b.title = "Time is up";
      } else if (!over && b.dataset.timeUp) {
        delete b.dataset.timeUp;
        b.disabled = false;
        b.title = "";
      }
    });
  }

  function tick() { stickyClocks(); digTimer(); }
  window.setInterval(tick, 500);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("live:applied", tick);
})();
