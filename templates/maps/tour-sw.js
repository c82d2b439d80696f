/* The tour's service worker (layers/channels/maps/offline.py). Pages: network first, then the cache;
 * everything else of this origin: the cache first. Only public answers are stored (see
 * isPublic): what a signed-in user was answered is never kept for the next user of the device. */
"use strict";
/* Matching ignores Vary: the worker's own requests do not carry the Cookie or Accept-Language the
 * browser added to the original, so they would never match. That is safe only because nothing
 * but public answers is ever stored (isPublic). */
const MATCH = { ignoreVary: true };
const CACHE = {{ cache|safe }};
const PRECACHE = {{ urls|safe }};
const PREFIX = "hehuachi-tour-";

function sameOrigin(url) {
  try { return new URL(url, self.location.href).origin === self.location.origin; } catch (e) { return false; }
}

/* Public: not `Cache-Control: private` or `no-store`; an answer that varies by Cookie or
 * Authorization only when the server marked it `public` (an anonymous caller's answer, the same
 * for everyone: the server turns `public` into `private` for signed-in callers). */
function isPublic(response) {
  if (!response || !response.ok || response.type !== "basic") return false;
  const control = (response.headers.get("Cache-Control") || "").toLowerCase();
  const vary = (response.headers.get("Vary") || "").toLowerCase();
  if (/(^|[\s,])(private|no-store)([\s,=]|$)/.test(control)) return false;
  if (/(^|[\s,])(cookie|authorization|\*)([\s,]|$)/.test(vary)) return /(^|[\s,])public([\s,]|$)/.test(control);
  return true;
}

/* `response` must be the worker's own copy (cloned before the page reads the original). */
function keep(cache, request, response) {
  if (isPublic(response)) return cache.put(request, response).catch(function () { return null; });
  return Promise.resolve(null);
}

function store(cache, url) {
  return cache.match(url, MATCH).then(function (hit) {
    if (hit) return hit;
    const request = new Request(url, { credentials: "same-origin" });
    return fetch(request).then(function (response) { return keep(cache, request, response); })
      .catch(function () { return null; });
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
  if (event.data && event.data.clear) {  // sign-out: forget everything (the page asks)
    event.waitUntil(caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf(PREFIX) === 0; })
        .map(function (k) { return caches.delete(k); }));
    }));
    return;
  }
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
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then(function (cache) { return keep(cache, request, copy); }));
      return response;
    }).catch(function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(request, { ignoreVary: true, ignoreSearch: true }); });
    }));
    return;
  }
  event.respondWith(caches.open(CACHE).then(function (cache) {
    return cache.match(request, MATCH).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        event.waitUntil(keep(cache, request, response.clone()));
        return response;
      });
    });
  }));
});
