// The driver app's service worker: the app itself comes from the cache when the phone is offline.
// The API is never cached here: the app keeps the route itself and queues what the driver reports.
const CACHE = "tomning-driver-v5"; // a new name drops the old cache when this worker takes over
const SHELL = [
  "/driver",
  "/static/web/driver.js",
  "/static/web/common.js",
  "/static/web/style.css",
  "/static/web/manifest.webmanifest",
  "/static/web/icon.svg",
  "/static/leaflet/leaflet.js",
  "/static/leaflet/leaflet.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/v1/")) {
    return; // the API, and tiles from OpenStreetMap, go to the network as they are
  }
  if (event.request.mode === "navigate") {
    // the page: the newest when online, the cached one when not
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put("/driver", copy));
          return response;
        })
        .catch(() => caches.match("/driver")),
    );
    return;
  }
  // the app's files: from the cache at once, and refreshed from the server behind it, so that a new
  // version of the app reaches the phone on its next start (cache first alone kept the first forever)
  event.respondWith(
    caches.open(CACHE).then((cache) =>
      cache.match(event.request).then((hit) => {
        const fresh = fetch(event.request)
          .then((response) => {
            if (response.ok) cache.put(event.request, response.clone());
            return response;
          })
          .catch(() => hit);
        if (hit) {
          event.waitUntil(fresh);
          return hit;
        }
        return fresh;
      }),
    ),
  );
});
