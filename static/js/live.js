/* Live updates on pages that show hazards (the inspection map, the field view, the dashboard):
 * one EventSource to the live-update process (layers/channels/sse/), which pushes each changed
 * feature of a live layer as this user may see it.
 *
 * window.hehuachiLive.on(fn), or the document's "hh:live" event: fn({layer, features, removed}) for every push, fn({layer,
 * reload: true}) when too much changed to send, and fn({resync: true}) after a lost connection
 * came back (what changed meanwhile was not kept: the page reloads what it shows). State in
 * <html data-live="connecting|open|closed">. A refused stream (signed out: 401) is tried again
 * after a growing pause. */
(function () {
  "use strict";
  var node = document.getElementById("hh-live-config");
  if (!node || !window.EventSource) return;
  var config = JSON.parse(node.textContent);
  // Behind the proxy: this origin. Without one: this host on the live process's port.
  var url = config.port
    ? window.location.protocol + "//" + window.location.hostname + ":" + config.port + config.path
    : config.path;
  var listeners = [];
  var live = {
    state: "connecting", opened: 0, received: 0, last: null,
    on: function (fn) { listeners.push(fn); },
  };
  window.hehuachiLive = live;
  var badge = document.getElementById("hh-live-status");

  function set(state) {
    live.state = state;
    document.documentElement.setAttribute("data-live", state);
    if (badge) badge.hidden = state !== "open";
  }
  function tell(message) {
    listeners.forEach(function (fn) {
      try { fn(message); } catch (e) { if (window.console) console.warn(e); }
    });
    // Scripts loaded before this one listen on the document (hehuachi-map.js).
    document.dispatchEvent(new CustomEvent("hh:live", { detail: message }));
  }

  var source = null;
  var pause = 5000;
  function connect() {
    set("connecting");
    source = new EventSource(url, { withCredentials: true });
    source.addEventListener("hello", function () {
      live.opened += 1;
      pause = 5000;
      set("open");
      if (live.opened > 1) tell({ resync: true });
    });
    source.addEventListener("features", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      live.received += 1;
      live.last = data;
      tell(data);
    });
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED) { set("connecting"); return; }
      // Refused (signed out, too busy): EventSource gives up; so do we, for a while.
      set("closed");
      setTimeout(connect, pause);
      pause = Math.min(pause * 2, 300000);
    };
  }
  connect();
})();
