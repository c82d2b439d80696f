/* Sign-out empties this site's offline caches in the browser (the server also answers
 * Clear-Site-Data). The field app's outbox (unsent steps, reports, photos) is in IndexedDB,
 * which that clears too: with unsent work, the user is asked first and may stay signed in. */
(function () {
  "use strict";
  var form = document.querySelector("form.hh-signout");
  if (!form) return;
  var confirmed = false;

  function unsent() {
    // The field app's outbox databases are named hehuachi-field-<user key> (static/js/outbox.js).
    if (!window.indexedDB || !indexedDB.databases) return Promise.resolve(0);
    return indexedDB.databases().then(function (list) {
      var names = list.map(function (d) { return d.name; }).filter(function (n) { return n && n.indexOf("hehuachi-field-") === 0; });
      return Promise.all(names.map(function (name) {
        return new Promise(function (resolve) {
          var open = indexedDB.open(name);
          open.onupgradeneeded = function () { open.transaction.abort(); resolve(0); };
          open.onerror = function () { resolve(0); };
          open.onsuccess = function () {
            var db = open.result;
            if (!db.objectStoreNames.contains("outbox")) { db.close(); resolve(0); return; }
            var count = db.transaction("outbox").objectStore("outbox").count();
            count.onsuccess = function () { db.close(); resolve(count.result); };
            count.onerror = function () { db.close(); resolve(0); };
          };
        });
      }));
    }).then(function (counts) { return counts.reduce(function (a, b) { return a + b; }, 0); })
      .catch(function () { return 0; });
  }

  function clearCaches() {
    var jobs = [];
    if (window.caches) {
      jobs.push(caches.keys().then(function (keys) {
        return Promise.all(keys.filter(function (k) { return k.indexOf("hehuachi-") === 0; })
          .map(function (k) { return caches.delete(k); }));
      }));
    }
    if (navigator.serviceWorker && navigator.serviceWorker.getRegistrations) {
      jobs.push(navigator.serviceWorker.getRegistrations().then(function (regs) {
        regs.forEach(function (r) { if (r.active) r.active.postMessage({ clear: true }); });
      }));
    }
    return Promise.all(jobs).catch(function () { return null; });
  }

  form.addEventListener("submit", function (event) {
    if (confirmed) return;
    event.preventDefault();
    unsent().then(function (count) {
      if (count > 0) {
        var text = (form.dataset.unsent || "{n} unsent").replace("{n}", String(count));
        if (!window.confirm(text)) return;
      }
      return clearCaches().then(function () {
        confirmed = true;
        form.submit();
      });
    });
  });
})();
