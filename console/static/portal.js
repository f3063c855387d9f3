// Portico developer portal: copy buttons. A button with data-copy="ID"
// (hidden until this script shows it) copies the text of the element
// with that id to the clipboard, and says so in the element named by
// data-status. Without this script, select the text and copy it by hand.
(function () {
  "use strict";
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        var el = document.getElementById(b.getAttribute("data-copy"));
        var status = document.getElementById(b.getAttribute("data-status"));
        if (!el) { return; }
        function say(msg) { if (status) { status.textContent = msg; } }
        function byHand() { select(el); say("Selected: press Ctrl+C (⌘C) to copy."); }
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(el.textContent).then(function () { say("Copied."); }, byHand);
        } else {
          byHand();
        }
      });
    });
  });
})();
