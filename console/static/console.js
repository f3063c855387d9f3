// Portico console: refreshes the parts of a page marked
// data-refresh="URL" every data-interval milliseconds (2000 by default)
// with the HTML fragment the URL answers. Without this script the pages
// work the same, only without live updates.
//
// Refreshing stops after ten minutes without a key press, click or
// scroll (and while the page is hidden), so that a tab left open does not
// keep its session alive past the idle timeout; it resumes on activity.
(function () {
  "use strict";
  var idleAfter = 10 * 60 * 1000;
  var lastActive = Date.now();
  ["keydown", "mousedown", "scroll", "touchstart"].forEach(function (ev) {
    document.addEventListener(ev, function () { lastActive = Date.now(); }, { passive: true });
  });
  function paused() { return document.hidden || Date.now() - lastActive > idleAfter; }
  function refresh(el) {
    var url = el.getAttribute("data-refresh");
    var every = parseInt(el.getAttribute("data-interval"), 10) || 2000;
    function tick() {
      if (paused()) {
        el.setAttribute("data-stale", "true");
        setTimeout(tick, every);
        return;
      }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (res) {
          if (res.redirected || !res.ok) { throw new Error("status " + res.status); }
          return res.text();
        })
        .then(function (html) {
          el.innerHTML = html;
          el.removeAttribute("data-stale");
        })
        .catch(function () { el.setAttribute("data-stale", "true"); })
        .finally(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(refresh);
  });
})();
