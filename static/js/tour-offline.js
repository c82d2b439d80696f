/* Offline after the first visit: over http(s), register the tour's service worker and send it
 * the same-origin files this page loaded. file:// (the published tour) does nothing. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !("serviceWorker" in navigator) || !/^https?:$/.test(window.location.protocol)) return;
  var url = script.getAttribute("data-sw");
  var scope = script.getAttribute("data-scope");
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(url, { scope: scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var files = [window.location.href];
      (performance.getEntriesByType("resource") || []).forEach(function (entry) {
        if (entry.name.indexOf(window.location.origin + "/") === 0) files.push(entry.name);
      });
      var channel = new MessageChannel();
      channel.port1.onmessage = function () {
        document.documentElement.setAttribute("data-offline", "ready");
      };
      registration.active.postMessage({ cache: files }, [channel.port2]);
    }).catch(function (err) { console.warn("offline tour: " + err); });
  });
})();
