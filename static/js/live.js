// The live session page: one Server-Sent Events stream per page (sessions/views/live.py).
//
// The server pushes each change as the fragments that changed, keyed by DOM id
// (sessions/regions.py). A fragment may hold empty placeholders ([data-keep]) where the
// page already has the element: those are kept as they are, so a new result redraws one
// card, and a member's own parts (entries still hidden, their dots) are never touched.
// What is drawn for everyone but meant for some ([data-only], [data-except]) is shown
// here to whom it is for; the server refuses the others anyway.
//
// `stale` (the step moved, a vote opened) reloads the page body; drafts survive it
// (session.js). When the stream breaks, the page says "Reconnecting…" and disables its
// buttons until it is back; the browser reconnects with the last revision it saw
// (Last-Event-ID) and the server sends whatever was missed.
(function () {
  "use strict";

  var feedEl = null;
  var source = null;
  var revision = 0;
  var retryTimer = null;
  var retryDelay = 1000;
  var unsupported = false;

  function me() { return feedEl ? feedEl.dataset.me : ""; }
  function isFacilitator() { return !!(feedEl && feedEl.hasAttribute("data-facilitator")); }

  // ---------------------------------------------------------------- whose is what
  function personalize(root) {
    var mine = "u" + me();
    var fac = isFacilitator();
    var only = root.querySelectorAll ? root.querySelectorAll("[data-only]") : [];
    var list = Array.prototype.slice.call(only);
    if (root.hasAttribute && root.hasAttribute("data-only")) list.push(root);
    list.forEach(function (el) {
      var who = el.getAttribute("data-only").split(" ");
      var show = who.indexOf(mine) !== -1 || (fac && who.indexOf("facilitator") !== -1)
        || (!fac && who.indexOf("member") !== -1);
      el.hidden = !show;
    });
    (root.querySelectorAll ? root.querySelectorAll("[data-except]") : []).forEach(function (el) {
      el.hidden = el.getAttribute("data-except").split(" ").indexOf(mine) !== -1;
    });
  }

  // ---------------------------------------------------------------- applying a change
  function put(id, html) {
    var old = document.getElementById(id);
    if (!old) return;  // not on this page (another step's region, or a hidden part)
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    var fresh = template.content.firstElementChild;
    if (!fresh) return;
    if (fresh.hasAttribute("data-list")) expandList(fresh);
    fresh.querySelectorAll("[data-list]").forEach(expandList);
    fresh.querySelectorAll("[data-keep]").forEach(function (stub) {
      if (stub.firstChild) return;
      var kept = document.getElementById(stub.id);
      if (kept && kept !== stub) stub.replaceWith(kept);
    });
    personalize(fresh);
    var focused = document.activeElement;
    old.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
    if (focused && focused !== document.body && !document.contains(focused)) {
      // The member was in a control that was redrawn: put them back where they were.
      var again = focused.id && document.getElementById(focused.id);
      if (again) again.focus({ preventScroll: true });
    }
  }

  // A long list (cards, findings, evidence) comes as the ids of its items in order
  // (`data-list`), not as an element each: 600 cards are 4 kB, not 56. Each id becomes a
  // placeholder, filled below by the element the page has, or by its own fragment.
  function expandList(list) {
    list.getAttribute("data-list").split(" ").forEach(function (id) {
      if (!id) return;
      var stub = document.createElement("div");
      stub.id = id;
      stub.setAttribute("data-keep", "");
      list.appendChild(stub);
    });
    list.removeAttribute("data-list");
  }

  // Placeholders that nothing filled: this page and the server's drawing disagree.
  function outOfStep() {
    var body = document.getElementById("session-body");
    if (!body) return false;
    var stubs = body.querySelectorAll("[data-keep]");
    for (var i = 0; i < stubs.length; i++) {
      if (!stubs[i].firstChild && !stubs[i].closest("[hidden]")) return true;
    }
    return false;
  }

  // A page that missed a step move (a `stale` that came while it was reloading, or a
  // reconnection after one) is sent the new step's regions like any change, but its own
  // forms are still the old step's: the pushed bar says which step the session is at.
  function stepMoved() {
    var body = document.getElementById("session-body");
    var bar = document.getElementById("session-bar");
    return !!(body && bar && bar.dataset.step && bar.dataset.step !== body.dataset.step);
  }

  // The evidence list of the finding form follows the results (a datalist in #live, one
  // option a fragment).
  function syncEvidence() {
    var options = document.getElementById("evidence-options");
    var select = document.getElementById("id_finding_test");
    if (!options || !select) return;
    var value = select.value;
    var none = select.querySelector('option[value=""]');
    select.innerHTML = "";
    if (none) select.appendChild(none);
    options.querySelectorAll("option").forEach(function (option) {
      select.appendChild(new Option(option.textContent, option.value));
    });
    select.value = value;
  }

  // A member's own list of entries is theirs, not in the drawing; its "Remove" goes once
  // the entry's card (in the drawing) shows a test, which someone else may have run.
  function dropRemoveOfTested() {
    document.querySelectorAll("[data-unless-tested]").forEach(function (form) {
      var card = document.getElementById(form.getAttribute("data-unless-tested"));
      if (card && card.hasAttribute("data-tested")) form.remove();
    });
  }

  function apply(data) {
    data.ops.forEach(function (op) { put(op[0], op[1]); });
    syncEvidence();
    dropRemoveOfTested();
    setRevision(data.rev);
    if (outOfStep() || stepMoved()) { reloadBody(); return; }
    document.dispatchEvent(new CustomEvent("live:applied", { detail: { rev: data.rev } }));
  }

  function setRevision(rev) {
    revision = Math.max(revision, Number(rev) || 0);
    var body = document.getElementById("session-body");
    if (body) body.dataset.liveRevision = String(revision);
  }

  // ---------------------------------------------------------------- the whole body again
  // A reload asked for while the body is busy (a reload, or the member's own write, whose
  // answer may carry a page older than the news) is not dropped: it runs once that is done.
  var reloading = false;
  var reloadAgain = false;
  function bodyBusy() {
    return !!document.querySelector("#session-body.htmx-request, #session-body .htmx-request");
  }
  function reloadBody() {
    if (!window.htmx) { window.location.reload(); return; }
    if (reloading || bodyBusy()) { reloadAgain = true; return; }
    reloading = true;
    window.htmx.ajax("GET", window.location.pathname, {
      target: "#session-body", swap: "outerHTML", select: "#session-body"
    }).then(function () {
      reloading = false;
      if (reloadAgain) { reloadAgain = false; reloadBody(); return; }
      connect(true);
    }, function () {
      reloading = false;
      offline(true);
      scheduleRetry();
    });
  }

  // ---------------------------------------------------------------- connection state
  function offline(isOffline) {
    var banner = document.getElementById("live-offline");
    if (banner) banner.hidden = !isOffline;
    document.body.classList.toggle("is-offline", isOffline);
    // Who is here cannot be known while the stream is down: say so rather than go on
    // claiming the last count (the next drawing of #people puts the count back).
    var count = document.querySelector("#people .card-header .badge");
    if (count && isOffline && !count.dataset.count) {
      count.dataset.count = count.textContent;
      count.textContent = "not connected";
    } else if (count && !isOffline && count.dataset.count) {
      count.textContent = count.dataset.count;
      delete count.dataset.count;
    }
    var body = document.getElementById("session-body");
    if (!body) return;
    body.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
      if (isOffline && !b.disabled) {
        b.disabled = true;
        b.dataset.offline = "1";
      } else if (!isOffline && b.dataset.offline) {
        delete b.dataset.offline;
        b.disabled = false;
      }
    });
  }

  function scheduleRetry() {
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(function () { connect(true); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  }

  function connect(fresh) {
    feedEl = document.getElementById("live-feed");
    if (!feedEl || !window.EventSource || unsupported) return;
    var url = feedEl.dataset.feedUrl;
    if (source && !fresh) return;
    if (source) source.close();
    var pageRevision = Number(feedEl.dataset.revision) || 0;
    if (pageRevision > revision || fresh) revision = pageRevision;
    url = url.replace(/([?&])rev=\d+/, "$1rev=" + revision);
    source = new EventSource(url);
    source.addEventListener("open", function () { retryDelay = 1000; });
    source.addEventListener("hello", function () { offline(false); });
    source.addEventListener("ops", function (event) {
      offline(false);
      apply(JSON.parse(event.data));
    });
    source.addEventListener("stale", function (event) {
      offline(false);
      setRevision(JSON.parse(event.data).rev);
      reloadBody();
    });
    // A server that cannot stream (WSGI): no live updates, and no "Reconnecting…" either.
    source.addEventListener("unsupported", function () {
      source.close();
      source = null;
      unsupported = true;
    });
    source.addEventListener("error", function () {
      if (!source) return;
      offline(true);
      if (source.readyState === EventSource.CLOSED) scheduleRetry();
      // else the browser reconnects by itself, sending Last-Event-ID
    });
  }

  // A write from a page whose stream is open asks for a light answer: its live region
  // stays (hx-preserve) and the stream brings the change, as to everyone else.
  document.addEventListener("htmx:configRequest", function (event) {
    var body = document.getElementById("session-body");
    if (!reloading && source && source.readyState === 1 && body && event.detail.verb === "post") {
      event.detail.headers["X-Live-Step"] = body.dataset.step;
    }
  });

  // A write answered with a new body: keep the stream, adopt the body's revision.
  document.addEventListener("htmx:afterSettle", function () {
    syncEvidence();
    if (reloadAgain && !reloading && !bodyBusy()) { reloadAgain = false; reloadBody(); }
    var el = document.getElementById("live-feed");
    if (!el) { if (source) { source.close(); source = null; } return; }
    feedEl = el;
    setRevision(el.dataset.revision);
    if (!source) connect(false);
    if (document.body.classList.contains("is-offline")) offline(true);
  });
  // The server could not be reached for a write: say so instead of doing nothing.
  document.addEventListener("htmx:sendError", function () {
    offline(true);
    connect(true);  // its "hello" says when the server is back
  });
  document.addEventListener("DOMContentLoaded", function () { connect(false); });
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();
