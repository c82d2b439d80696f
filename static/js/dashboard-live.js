/* The dashboard follows live updates (static/js/live.js): when hazards change, the figures are
 * counted again (this page, fetched, its parts marked data-live-part replaced in place), and
 * the changed hazards are listed under "Just changed" with their status. Every text from data
 * is set with textContent. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("hh-dashboard-live").textContent);
  var state = { refreshed: 0, listed: [] };
  window.hehuachiDashboard = state;
  var timer = null;
  var running = false;
  var again = false;

  function statusLabel(value) {
    for (var i = 0; i < config.statuses.length; i++) {
      if (config.statuses[i].value === value) return config.statuses[i].label;
    }
    return value;
  }
  function clock(iso) {
    return new Intl.DateTimeFormat("sv-SE", {
      timeZone: config.timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).format(iso ? new Date(iso) : new Date());
  }

  function refresh() {
    if (running) { again = true; return; }
    running = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-part]").forEach(function (part) {
          var name = part.getAttribute("data-live-part");
          var next = fresh.querySelector('[data-live-part="' + name + '"]');
          if (next) part.replaceWith(document.importNode(next, true));
        });
        state.refreshed += 1;
      })
      .catch(function (error) { if (window.console) console.warn(error.message); })
      .then(function () {
        running = false;
        if (again) { again = false; refresh(); }
      });
  }

  function list(message) {
    var section = document.getElementById("hh-live-changes");
    var list = document.getElementById("hh-live-list");
    (message.features || []).forEach(function (feature) {
      var old = list.querySelector('li[data-id="' + feature.id + '"]');
      if (old) list.removeChild(old);
      var item = document.createElement("li");
      item.dataset.id = String(feature.id);
      item.dataset.status = feature.properties.status;
      var link = document.createElement("a");
      link.href = config.featureUrl.replace("{id}", String(feature.id));
      link.textContent = feature.properties.name;
      item.appendChild(link);
      var meta = document.createElement("span");
      meta.className = "hh-muted";
      meta.textContent = " · " + statusLabel(feature.properties.status) + " · " + clock(message.at);
      item.appendChild(meta);
      list.insertBefore(item, list.firstChild);
      state.listed.push(feature.id);
    });
    while (list.children.length > 10) list.removeChild(list.lastChild);
    section.hidden = list.children.length === 0;
  }

  document.addEventListener("hh:live", function (event) {
    var message = event.detail || {};
    if (!message.resync && message.layer !== "hazards") return;
    if (message.features) list(message);
    clearTimeout(timer);
    // A moment's wait: several pages open at once do not all count at one instant.
    timer = setTimeout(refresh, 300 + Math.random() * 700);
  });
})();
