// Coaster's service worker. The app shell loads without the network (the app
// then says it cannot reach the stand's server: it never shows the board as
// live without the WebSocket), and a new deploy waits for the host's tap.
// frontend/stamp-sw.sh fills in VERSION and SHELL at every build.
const VERSION = 'unstamped';
const SHELL = ['/index.html'];
const CACHE = 'coaster-' + VERSION;

self.oninstall = (e) => e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)));

// Drop the previous version's cache; take over the pages only now, which is
// on the first install or after the host tapped Reload.
self.onactivate = (e) => e.waitUntil(
  caches.keys()
    .then((names) => Promise.all(names.filter((n) => n != CACHE).map((n) => caches.delete(n))))
    .then(() => clients.claim()),
);

// The page posts this when the host taps "Reload" on the new-version banner.
self.onmessage = (e) => e.data == 'SKIP_WAITING' && skipWaiting();

self.onfetch = (e) => {
  const r = e.request, url = new URL(r.url);
  // Live data is never cached: the WebSocket, the login and session checks.
  if (r.method != 'GET' || url.origin != location.origin || url.pathname == '/ws' || url.pathname.startsWith('/api/')) return;
  e.respondWith(r.mode == 'navigate'
    // Network first, so a deploy is seen; the cached shell when offline.
    ? fetch(r).catch(() => caches.match('/index.html'))
    // Everything else in the shell is content-hashed or versioned with it.
    : caches.match(r).then((hit) => hit || fetch(r)));
};
