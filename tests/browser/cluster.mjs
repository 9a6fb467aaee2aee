// Several `duet` nodes on one PostgreSQL database, behind one front door,
// for the browser tests of docs/operating.md's "Scaling out": pages open
// the front door's URL and never know which node they reach.
//
// The database is a fresh one in the cluster tests/postgres.sh started
// (DUET_TEST_DATABASE_URL names it; tests/run.sh runs the browser tests
// inside it when it can). Without it, `databaseUrl()` is null and the
// tests that need it skip.
//
// The front door stands in for the operator's load balancer
// (deploy/caddy/Caddyfile.nodes): plain round-robin over the nodes whose
// /readyz answers 200, no sticky sessions, and a connection a node
// refuses goes to the next one. It copies bytes, so HTTP and WebSockets
// pass alike; media never goes through it (each node advertises its own
// address in its answer).

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import { promisify } from 'node:util';

import { randomKey, rebaseLink, startServer } from './server.mjs';

const run = promisify(execFile);

export function databaseUrl() {
  const url = process.env.DUET_TEST_DATABASE_URL?.trim();
  return url || null;
}

async function psql(url, sql) {
  await run('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
}

// Starts `count` nodes (`node-1`, …) on a database of their own, and the
// front door before them. `env` goes to every node.
export async function startCluster(count, { env = {} } = {}) {
  const admin = databaseUrl();
  if (!admin) throw new Error('startCluster needs DUET_TEST_DATABASE_URL');
  // Ours alone: a fixed prefix and hex digits.
  const name = `duet_browser_${randomUUID().replaceAll('-', '')}`;
  await psql(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const key = randomKey();
  const nodes = [];
  try {
    for (let i = 1; i <= count; i += 1) {
      const id = `node-${i}`;
      const server = await startServer({
        key,
        env,
        extraArgs: ['--node-id', id, '--database-url', url.toString()],
      });
      nodes.push(Object.assign(server, { id }));
    }
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw e;
  }
  const door = await startFrontDoor(nodes);
  return {
    nodes,
    base: door.base,
    // A session made on the first node that answers, its links opened
    // at the front door.
    async createSession(opts) {
      let session;
      for (const node of nodes) {
        session = await node.createSession(opts).catch(() => null);
        if (session) break;
      }
      if (!session) throw new Error('no node answers to create a session');
      session.links = {
        mentor: rebaseLink(session.links.mentor, door.base),
        mentee: rebaseLink(session.links.mentee, door.base),
      };
      return session;
    },
    // The node that holds `session` (its row in `duet_placements`), or
    // null when none does.
    async holder(session) {
      const { stdout } = await run('psql', [url.toString(), '-tAq', '-c',
        `SELECT node_id FROM duet_placements WHERE session_id = '${session.id.replace(/[^0-9a-f-]/gi, '')}'`]);
      return nodes.find((n) => n.id === stdout.trim()) ?? null;
    },
    lastLogs(n = 30) {
      return nodes.map((node) => `--- ${node.id}\n${node.lastLogs(n)}`).join('\n');
    },
    async stop() {
      door.close();
      await Promise.all(nodes.map((n) => n.stop()));
      await psql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    },
  };
}

// The load balancer: a TCP listener on a free loopback port that sends
// each connection to the next ready node, trying the others when one
// refuses. Readiness is polled every 250 ms (Caddy's health_uri, faster).
async function startFrontDoor(nodes) {
  const ready = new Map(nodes.map((n) => [n, true]));
  let polling = true;
  const poll = async () => {
    while (polling) {
      await Promise.all(nodes.map(async (n) => {
        const ok = await fetch(`${n.base}/readyz`, { signal: AbortSignal.timeout(1000) })
          .then((r) => r.status === 200, () => false);
        ready.set(n, ok);
      }));
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  poll();
  let next = 0;
  const server = createServer((client) => {
    client.on('error', () => {});
    const start = next;
    next = (next + 1) % nodes.length;
    // Ready nodes first, in round-robin order; then the rest, in case
    // the last poll is behind.
    const order = nodes.map((_, i) => nodes[(start + i) % nodes.length]);
    const tries = [...order.filter((n) => ready.get(n)), ...order.filter((n) => !ready.get(n))];
    const attempt = () => {
      const node = tries.shift();
      if (!node) {
        client.destroy();
        return;
      }
      const [host, port] = node.http.split(':');
      const upstream = createConnection({ host, port: Number(port) });
      let connected = false;
      upstream.on('error', (e) => {
        if (!connected && e.code === 'ECONNREFUSED') attempt();
        else client.destroy();
      });
      upstream.once('connect', () => {
        connected = true;
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
      });
    };
    attempt();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    base: `http://127.0.0.1:${port}`,
    close() {
      polling = false;
      server.close();
    },
  };
}
