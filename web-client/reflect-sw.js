// The reflection page's service worker (registered by reflect-player.js
// with scope /reflect, so it controls that page only).
//
// A <video> or <audio> element cannot send `Authorization: Bearer`, and the
// page's token must not go into a URL (logs, Referer). So this worker takes
// the page's requests for recording files and sends them again with the
// token, which it asks the page for over a MessageChannel. Range requests
// pass through as they are: players fetch only the parts they play.

const FILES = /^\/api\/v1\/recordings\/[^/]+\/files\/[^/]+$/;
const tokens = new Map(); // client id → token

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !FILES.test(url.pathname)) return;
  if (event.request.method !== 'GET') return;
  event.respondWith(withToken(event));
});

/** Asks the page that made the request for its token (cached per page). */
async function tokenFor(clientId) {
  if (!clientId) return '';
  if (tokens.has(clientId)) return tokens.get(clientId);
  const client = await self.clients.get(clientId);
  if (!client) return '';
  const token = await new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(''), 3000);
    channel.port1.onmessage = (e) => {
      clearTimeout(timer);
      resolve(typeof e.data === 'string' ? e.data : '');
    };
    client.postMessage({ type: 'duet-reflect-token' }, [channel.port2]);
  });
  if (token) tokens.set(clientId, token);
  return token;
}

async function withToken(event) {
  const token = await tokenFor(event.clientId || event.resultingClientId);
  const headers = new Headers(event.request.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  // A media request is `no-cors`, which drops an Authorization header: ask
  // again as a same-origin request, Range header included.
  return fetch(event.request.url, {
    headers,
    mode: 'same-origin',
    credentials: 'omit',
    cache: 'no-store',
    referrerPolicy: 'no-referrer',
    signal: event.request.signal,
  });
}
