// graphql-transport-ws with the protocol's reference client (graphql-ws's
// `createClient` over the `ws` package) against a running innkeep: a host
// signs up over REST, lists a property, subscribes to its availability
// over the WebSocket, blocks nights over REST and must see the block
// pushed, then completes the subscription.
//
//   INNKEEP_CI_NPM=DIR node .ci/graphql_ws_client.mjs http://127.0.0.1:PORT
//
// Exits 1 if anything fails or no push arrives within 10 s.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

const base = process.argv[2];
const prefix = process.env.INNKEEP_CI_NPM;
if (!base || !prefix) {
  console.error('usage: INNKEEP_CI_NPM=DIR node graphql_ws_client.mjs BASE_URL');
  process.exit(2);
}
const require = createRequire(join(prefix, 'package.json'));
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');

const WITHIN_MS = 10_000;

function fail(message) {
  console.error(`graphql ws: ${message}`);
  process.exit(1);
}

async function rest(method, path, token, body) {
  const res = await fetch(base + path, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) fail(`${method} ${path}: HTTP ${res.status} ${text}`);
  return JSON.parse(text);
}

/** `YYYY-MM-DD`, `days` from today (UTC). */
function day(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

const host = await rest('POST', '/api/v1/auth/register', null, {
  email: `ws-host-${randomUUID()}@example.com`,
  password: 'correct horse battery',
  name: 'WS host',
});
const token = host.access_token;
const property = await rest('POST', '/api/v1/properties', token, {
  title: 'Audit loft',
  city: 'Lisbon',
  country: 'Portugal',
  price_per_night: 10000,
  currency: 'EUR',
  max_guests: 2,
});

const client = createClient({
  url: `${base.replace(/^http/, 'ws')}/graphql/ws`,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
});

const block = { start: day(10), end: day(13) };
const started = Date.now();
const timer = setTimeout(() => fail(`no push within ${WITHIN_MS / 1000} s`), WITHIN_MS);
const pushes = [];
await new Promise((resolve, reject) => {
  let blocked = false;
  const unsubscribe = client.subscribe(
    {
      query: `subscription($p: ID!, $from: Date, $to: Date) {
        availabilityChanged(propertyId: $p, from: $from, to: $to) {
          propertyId unavailable { start end } } }`,
      variables: { p: property.id, from: day(0), to: day(60) },
    },
    {
      next: (result) => {
        if (result.errors) {
          reject(new Error(JSON.stringify(result.errors)));
          return;
        }
        const ranges = result.data.availabilityChanged.unavailable;
        pushes.push(ranges);
        console.log(`graphql ws: push ${pushes.length}: ${JSON.stringify(ranges)}`);
        if (!blocked) {
          // The first push is the calendar now: block nights, over REST.
          blocked = true;
          rest('POST', `/api/v1/properties/${property.id}/blocks`, token, {
            ...block,
            reason: 'graphql-ws audit',
          }).catch(reject);
        } else if (ranges.some((r) => r.start === block.start && r.end === block.end)) {
          // Complete from the client's side: graphql-ws sends `complete`.
          unsubscribe();
          resolve();
        }
      },
      error: (err) => reject(err instanceof Error ? err : new Error(JSON.stringify(err))),
      complete: () => reject(new Error('the server completed the subscription first')),
    },
  );
}).catch((err) => fail(err.message ?? String(err)));
clearTimeout(timer);
await client.dispose();
console.log(
  `graphql ws: the block was pushed in ${Date.now() - started} ms after subscribing ` +
    `(${pushes.length} pushes); subscription completed`,
);
process.exit(0);
