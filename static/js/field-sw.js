/* The field app's service worker (scope /field/), served by layers/channels/portal/field_app.py
 * with CONFIG (the user's cache names, the page's files) above this text.
 *
 * Two caches per user: the app (page files, replaced with each version) and the data (tasks,
 * timelines, steps, tiles: kept across versions). Both are named by an opaque key of the
 * signed-in user, and activating this worker deletes every other user's field caches, so one
 * user's answers never answer another's requests on a shared phone. Sign-out clears them all.
 *
 * The page: network first, the cache when offline. Tasks, timelines and steps: network first
 * (fresh when online), the cache when offline. Page files and tiles: the cache first.
 * Writes are never touched here: the page's outbox sends them (static/js/outbox.js). */
"use strict";

function sameOrigin(url) {
  try { return new URL(url, self.location.href).origin === self.location.origin; } catch (e) { return false; }
}
function isTile(url) {
  const path = new URL(url, self.location.href).pathname;
  return CONFIG.tilePrefixes.some(function (p) { return path.indexOf(p) === 0; });
}
function isData(url) {
  const path = new URL(url, self.location.href).pathname;
  return path.indexOf("/api/v1/hazards/") === 0 || path === CONFIG.page + "tasks/";
}
const MATCH = { ignoreVary: true };  // caches are this user's own: Cookie cannot differ

function put(name, request, response) {
  if (!response || !(response.ok || response.status === 204) || response.type !== "basic") return Promise.resolve(false);
  return caches.open(name).then(function (cache) { return cache.put(request, response); })
    .then(function () { return true; }).catch(function () { return false; });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CONFIG.app).then(function (cache) {
    return Promise.all(CONFIG.appUrls.map(function (url) {
      const request = new Request(url, { credentials: "same-origin" });
      return fetch(request).then(function (r) { return r.ok ? cache.put(request, r) : null; })
        .catch(function () { return null; });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf(CONFIG.prefix) === 0 && k !== CONFIG.app && k !== CONFIG.data;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

/* The page asks: {download: [urls]} keeps them all (progress on the port), {clear: true}
 * forgets everything (sign-out), {count: true} says how many entries are kept. */
self.addEventListener("message", function (event) {
  const data = event.data || {};
  const port = event.ports && event.ports[0];
  if (data.clear) {
    event.waitUntil(caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf(CONFIG.prefix) === 0; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { if (port) port.postMessage({ cleared: true }); }));
    return;
  }
  if (Array.isArray(data.download)) {
    const urls = data.download.filter(sameOrigin);
    let done = 0, failed = 0;
    const queue = urls.slice();
    function next() {
      const url = queue.shift();
      if (url === undefined) return Promise.resolve();
      const request = new Request(url, { credentials: "same-origin" });
      const target = CONFIG.appUrls.indexOf(url) >= 0 ? CONFIG.app : CONFIG.data;
      return fetch(request).then(function (response) { return put(target, request, response); })
        .catch(function () { return false; })
        .then(function (ok) {
          if (ok) done += 1; else failed += 1;
          if (port && (done + failed) % 10 === 0) port.postMessage({ progress: done + failed, total: urls.length });
          return next();
        });
    }
    // Four at a time: quick on a good signal, gentle on the server.
    event.waitUntil(Promise.all([next(), next(), next(), next()]).then(function () {
      if (port) port.postMessage({ done: done, failed: failed, total: urls.length });
    }));
  }
});

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET" || !sameOrigin(request.url)) return;
  const url = request.url;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        const copy = response.clone();
        event.waitUntil(put(CONFIG.app, new Request(CONFIG.page), copy));
      }
      return response;
    }).catch(function () {
      return caches.open(CONFIG.app).then(function (cache) { return cache.match(CONFIG.page, MATCH); });
    }));
    return;
  }
  if (isData(url)) {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        const copy = response.clone();
        event.waitUntil(put(CONFIG.data, request, copy));
      }
      return response;
    }).catch(function () {
      return caches.open(CONFIG.data).then(function (cache) { return cache.match(request, MATCH); })
        .then(function (hit) { return hit || Response.error(); });
    }));
    return;
  }
  const cacheName = isTile(url) ? CONFIG.data : CONFIG.app;
  if (isTile(url) || url.indexOf(self.location.origin + CONFIG.static) === 0) {
    event.respondWith(caches.open(cacheName).then(function (cache) {
      return cache.match(request, MATCH).then(function (hit) {
        return hit || fetch(request).then(function (response) {
          if (response.ok || response.status === 204) event.waitUntil(put(cacheName, request, response.clone()));
          return response;
        });
      });
    }));
  }
});
