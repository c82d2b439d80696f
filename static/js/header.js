/* Folding on a phone: the header's pages and account, and a map page's filters and tools, fold
 * behind a button so that the header is one line and the map gets the screen (site.css,
 * hehuachi-map.css). Without this script the buttons stay hidden and everything shows, wrapped.
 * Loaded in <head>: the folded layout holds before a map is made, so the map is made at the
 * size it keeps (Leaflet does not notice a container that grows later). */
(function () {
  "use strict";
  document.documentElement.classList.add("hh-foldable");

  function panel(button) { return document.getElementById(button.getAttribute("aria-controls")); }

  function set(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    panel(button).classList.toggle("hh-open", open);
  }

  function wire() {
    /* A button whose panel holds nothing (a map page without filters) stays hidden. */
    var buttons = Array.prototype.filter.call(document.querySelectorAll("[data-hh-toggle]"), function (b) {
      return panel(b) && panel(b).children.length > 0;
    });
    buttons.forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        buttons.forEach(function (other) { if (other !== button) set(other, false); });
        set(button, open);
      });
    });
    /* Escape, or a tap outside the open panel, folds it again. */
    document.addEventListener("keydown", function (e) {
      if (e.key !== "Escape") return;
      buttons.forEach(function (button) {
        if (button.getAttribute("aria-expanded") === "true") { set(button, false); button.focus(); }
      });
    });
    document.addEventListener("click", function (e) {
      buttons.forEach(function (button) {
        if (!button.contains(e.target) && !panel(button).contains(e.target)) set(button, false);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
