/* The field app offline: registers its service worker, says when the phone is offline and when
 * the data was last synced, shows how much "save for offline" downloads before it does, and
 * shows the outbox (static/js/outbox.js): what waits to be sent, the progress while it is sent
 * ("3 of 7, photo 2 of 4"), and each conflict beside the server's state, to re-apply or
 * discard. Every text from data is set with textContent. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("hh-field-config").textContent);
  var S = config.strings.offline;
  var outbox = window.hehuachiOutbox;
  var field = { ready: false, downloaded: null, plan: null };
  window.hehuachiOffline = field;

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  var clock = new Intl.DateTimeFormat("sv-SE", {
    timeZone: config.timeZone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  function size(bytes) {
    if (bytes >= 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1) + " MB";
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }
  var syncedKey = "hehuachi-field-synced-" + config.userKey;
  outbox.urls = config.urls;
  outbox.syncedKey = syncedKey;

  // --- online / offline and last synced ---------------------------------------------------
  function showSynced() {
    var at = null;
    try { at = localStorage.getItem(syncedKey); } catch (e) { at = null; }
    $("hh-last-synced").textContent = at ? fmt(S.lastSynced, { t: clock.format(new Date(at)) }) : S.neverSynced;
  }
  function showNetwork() {
    var offline = !navigator.onLine;
    $("hh-offline-banner").hidden = !offline;
    document.documentElement.classList.toggle("hh-is-offline", offline);
  }
  window.addEventListener("online", function () { showNetwork(); render(); });
  window.addEventListener("offline", showNetwork);
  showNetwork();
  showSynced();

  // --- the service worker and "save for offline" -------------------------------------------
  function worker() {
    if (!("serviceWorker" in navigator)) return Promise.reject(new Error("no service worker"));
    return navigator.serviceWorker.ready.then(function (registration) { return registration.active; });
  }
  if ("serviceWorker" in navigator && /^https?:$/.test(location.protocol)) {
    navigator.serviceWorker.register(config.urls.sw, { scope: config.urls.page }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      field.ready = true;
      document.documentElement.setAttribute("data-field-worker", "ready");
    }).catch(function (error) { $("hh-offline-size").textContent = S.noWorker + " " + error; });
  }

  function loadPlan() {
    $("hh-offline-size").textContent = S.measuring;
    return fetch(config.urls.offline, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (plan) {
      field.plan = plan;
      $("hh-offline-size").textContent = fmt(S.size, { size: size(plan.bytes), n: plan.count, z: plan.zooms[1] });
      $("hh-offline-save").disabled = false;
      return plan;
    }).catch(function () {
      $("hh-offline-size").textContent = navigator.onLine ? S.planFailed : S.offlineNow;
    });
  }

  function download() {
    var plan = field.plan;
    if (!plan) return Promise.resolve();
    var urls = [];
    plan.groups.forEach(function (g) { urls = urls.concat(g.urls); });
    var bar = $("hh-offline-progress");
    bar.hidden = false;
    bar.max = urls.length;
    bar.value = 0;
    $("hh-offline-save").disabled = true;
    return worker().then(function (active) {
      return new Promise(function (resolve) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function (event) {
          var data = event.data || {};
          if (data.progress !== undefined) bar.value = data.progress;
          if (data.done !== undefined) resolve(data);
        };
        active.postMessage({ download: urls }, [channel.port2]);
      });
    }).then(function (result) {
      bar.hidden = true;
      field.downloaded = result;
      try { localStorage.setItem(syncedKey, new Date().toISOString()); } catch (e) { /* private mode */ }
      showSynced();
      $("hh-offline-size").textContent = fmt(S.saved, { n: result.done, size: size(plan.bytes) }) +
        (result.failed ? " " + fmt(S.savedFailed, { n: result.failed }) : "");
      $("hh-offline-save").disabled = false;
      document.documentElement.setAttribute("data-field-offline", "saved");
    });
  }
  $("hh-offline-save").addEventListener("click", function () { download(); });
  $("hh-offline-refresh").addEventListener("click", function () {
    if (!navigator.onLine) return;
    loadPlan().then(download).then(function () {
      if (window.hehuachiField && window.hehuachiField.reload) window.hehuachiField.reload();
    });
  });
  if (navigator.onLine) loadPlan();

  // --- the outbox --------------------------------------------------------------------------
  function actionLabel(name) { return config.actions[name] ? config.actions[name].label : name; }
  function statusLabel(value) {
    for (var i = 0; i < config.statuses.length; i++) if (config.statuses[i].value === value) return config.statuses[i].label;
    return value;
  }
  function describe(entry) {
    if (entry.kind === "report") return fmt(S.entryReport, { name: entry.name, n: entry.photos.length });
    return fmt(S.entryStep, { action: actionLabel(entry.body.action), name: entry.name || ("#" + entry.hazard), n: entry.photos.length });
  }

  function conflictView(entry) {
    var box = el("div", null, "hh-conflict");
    if (entry.conflict === "duplicates") {
      box.appendChild(el("p", fmt(S.dupAtSync, { r: "" })));
      var list = el("ul");
      (entry.duplicates || []).forEach(function (h) {
        list.appendChild(el("li", Math.round(h.distance_m) + " m · " + h.name + " · " + statusLabel(h.status) + " · #" + h.id));
      });
      box.appendChild(list);
    } else {
      var mine = el("p", null, "hh-mine");
      mine.appendChild(el("strong", S.yours + " "));
      mine.appendChild(el("span", fmt(S.yoursText, { action: actionLabel(entry.body.action), v: entry.sentVersion || entry.version || "?" })));
      box.appendChild(mine);
      var theirs = el("p", null, "hh-theirs");
      theirs.appendChild(el("strong", S.server + " "));
      if (entry.server) {
        var allowed = (entry.server.allowed || []).map(function (a) { return actionLabel(a.action); }).join(", ") || "—";
        theirs.appendChild(el("span", fmt(S.serverText, { status: statusLabel(entry.server.status), v: entry.server.version, allowed: allowed })));
        theirs.dataset.status = entry.server.status;
        theirs.dataset.version = entry.server.version;
      } else {
        theirs.appendChild(el("span", S.serverUnknown));
      }
      box.appendChild(theirs);
    }
    if (entry.error) box.appendChild(el("p", entry.error, "hh-muted hh-small"));
    return box;
  }

  function render(info) {
    if (info && info.progress) {
      var p = info.progress;
      var bar = $("hh-sync-progress");
      bar.hidden = false;
      bar.max = p.total;
      bar.value = p.index - 1 + (p.photos ? p.photo / (p.photos + 1) : 0);
      $("hh-sync-text").textContent = p.photos
        ? fmt(S.progressPhoto, { i: p.index, n: p.total, p: p.photo, m: p.photos })
        : fmt(S.progress, { i: p.index, n: p.total });
      return;
    }
    outbox.list().then(function (entries) {
      var section = $("hh-outbox");
      var list = $("hh-outbox-list");
      while (list.firstChild) list.removeChild(list.firstChild);
      section.hidden = entries.length === 0;
      $("hh-outbox-count").textContent = String(entries.length);
      section.dataset.count = String(entries.length);
      if (info && info.synced) {
        $("hh-sync-progress").hidden = true;
        var stopped = info.synced.stopped;
        $("hh-sync-text").textContent = stopped ? fmt(S.retrying, { why: stopped.message }) : (entries.length ? "" : S.allSent);
        showSynced();
      }
      entries.forEach(function (entry) {
        var item = el("li", null, "hh-entry hh-entry-" + entry.state);
        item.dataset.id = entry.id;
        item.dataset.state = entry.state;
        item.dataset.kind = entry.kind;
        item.appendChild(el("div", describe(entry)));
        item.appendChild(el("div", clock.format(new Date(entry.created)) + " · " + S.state[entry.state], "hh-muted hh-small"));
        if (entry.state !== "pending") {
          item.appendChild(conflictView(entry));
          var again = el("button", entry.conflict === "duplicates" ? S.reportAnyway : S.reapply, "hh-button");
          again.type = "button";
          again.dataset.do = "reapply";
          again.addEventListener("click", function () { outbox.reapply(entry.id).then(function () { return outbox.sync(); }); });
          var drop = el("button", S.discard, "hh-button hh-secondary");
          drop.type = "button";
          drop.dataset.do = "discard";
          drop.addEventListener("click", function () {
            if (window.confirm(fmt(S.discardConfirm, { what: describe(entry) }))) outbox.discard(entry.id);
          });
          item.appendChild(again);
          item.appendChild(drop);
        }
        list.appendChild(item);
      });
    });
  }
  outbox.onChange(render);
  $("hh-sync-now").addEventListener("click", function () { outbox.sync(); });
  field.opened = outbox.open(config.userKey).then(function () {
    render();
    if (navigator.onLine) outbox.sync();
  });
})();
