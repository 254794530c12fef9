// A result page follows its job by server push (explore.live, explore.views.result_live):
// the region of a running job names its stream (data-job-live) and, on `done`, fetches
// itself once (its hx-trigger is "job-done"). A server that cannot stream (WSGI: runserver,
// a test's live server) answers `unsupported`; the region then asks every second instead.
(function () {
  "use strict";

  var source = null;
  var polling = false;

  function running() { return document.querySelector("#result[data-job-live]"); }

  function fetchRegion() {
    var region = running();
    if (region && window.htmx) window.htmx.trigger(region, "job-done");
  }

  function follow() {
    var region = running();
    if (!region) {
      if (source) { source.close(); source = null; }
      return;
    }
    if (polling || !window.EventSource) {
      window.setTimeout(function () { if (document.contains(region)) fetchRegion(); }, 1000);
      return;
    }
    if (source) return;
    source = new EventSource(region.dataset.jobLive);
    source.addEventListener("done", function () {
      source.close();  // else the browser would open it again
      source = null;
      fetchRegion();
    });
    source.addEventListener("unsupported", function () {
      source.close();
      source = null;
      polling = true;
      follow();
    });
    // A lost stream reconnects by itself; the server reads the job again when it does.
  }

  document.addEventListener("DOMContentLoaded", follow);
  document.addEventListener("htmx:afterSettle", follow);
  // The region's own request failed: try again shortly rather than stay on "Working".
  ["htmx:sendError", "htmx:responseError"].forEach(function (name) {
    document.addEventListener(name, function () { window.setTimeout(follow, 2000); });
  });
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();
