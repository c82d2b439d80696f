/* The tour's service worker (layers/channels/maps/offline.py). Pages: network first, then the cache;
 * everything else of this origin: the cache first. */
"use strict";
const CACHE = {{ cache|safe }};
const PRECACHE = {{ urls|safe }};
const PREFIX = "hehuachi-tour-";

function sameOrigin(url) {
  try { return new URL(url, self.location.href).origin === self.location.origin; } catch (e) { return false; }
}

function store(cache, url) {
  return cache.match(url, { ignoreVary: true }).then(function (hit) {
    return hit || cache.add(new Request(url, { credentials: "same-origin" })).catch(function () { return null; });
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(PRECACHE.map(function (url) { return store(cache, url); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf(PREFIX) === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

/* A page sends the files it loaded; the worker answers on the given port once they are stored. */
self.addEventListener("message", function (event) {
  const urls = (event.data && Array.isArray(event.data.cache)) ? event.data.cache.filter(sameOrigin) : [];
  const done = caches.open(CACHE).then(function (cache) {
    return Promise.all(PRECACHE.concat(urls).map(function (url) { return store(cache, url); }));
  }).then(function () {
    if (event.ports && event.ports[0]) event.ports[0].postMessage({ cached: urls.length + PRECACHE.length });
  });
  event.waitUntil(done);
});

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET" || !sameOrigin(request.url)) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request, { ignoreVary: true, ignoreSearch: true });
    }));
    return;
  }
  event.respondWith(caches.match(request, { ignoreVary: true }).then(function (hit) {
    return hit || fetch(request).then(function (response) {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  }));
});
