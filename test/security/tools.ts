/**
 * Shared by the security tests: a keep-alive HTTP client that sends whatever it is given (any
 * method, header or body, unlike fetch), the checks every error answer must pass, and snapshots
 * of the cases and of every Redis key under a prefix (to prove that nothing changed).
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { Stack } from '../helpers/stack.js';
import { REDIS_URL } from '../helpers/redis.js';

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  /** Send the body with `Transfer-Encoding: chunked` instead of a Content-Length. */
  chunked?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** What went over the same connection before (for failure messages). */
  previous?: string;
}

export function createClient(baseUrl: string, maxSockets = 8) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const { hostname, port } = new URL(baseUrl);
  const lastOn = new WeakMap<Socket, string>();
  function send(r: RawRequest, retried = false): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      // Framing is always explicit: Node's client sends the body of a GET, DELETE, OPTIONS... with
      // neither a length nor chunking, and the server would read it as the next request.
      const framing = r.body === undefined ? {} : r.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(r.body.length) };
      const headers = { ...r.headers, ...framing };
      let answer: RawResponse | undefined;
      const req = request({ agent, hostname, port, method: r.method, path: r.path, headers }, (res) => {
        const chunks: Buffer[] = [];
        answer = { status: res.statusCode ?? 0, headers: res.headers, body: '', previous: lastOn.get(res.socket) };
        lastOn.set(res.socket, `${r.method} ${r.path.slice(0, 60)} ${r.body?.length ?? 0}b${r.chunked ? ' chunked' : ''} → ${res.statusCode} ${res.headers.connection}`);
        const done = () => resolve({ ...answer!, body: Buffer.concat(chunks).toString('utf8') });
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', done);
        res.on('error', () => undefined);
        res.on('close', done);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // The server answered, then closed while we were still sending a body it refused: the
        // answer stands (a reset can follow it).
        if (answer) return;
        // A kept-alive socket the server closed as idle just as it was reused: Node's documented
        // retry case. Anything else is a failure of the request.
        if (!retried && req.reusedSocket && err.code === 'ECONNRESET') return void send(r, true).then(resolve, reject);
        const previous = req.socket ? lastOn.get(req.socket) : undefined;
        reject(Object.assign(err, { message: `${err.message} (connection reused: ${req.reusedSocket}; previous request on it: ${previous ?? 'none'})` }));
      });
      if (r.body && r.chunked) {
        req.write(r.body);
        req.end();
      } else {
        req.end(r.body);
      }
    });
  }
  return { send, close: () => agent.destroy() };
}

const STACK_TRACE = /\n\s+at\s|node_modules|\.(?:ts|js):\d+|\bstack\b/i;

/** Every error answer: application/problem+json, its status in the body, no stack trace. */
export function expectProblem(res: RawResponse, method = 'GET', where = ''): void {
  expect(res.headers['content-type'] ?? '(none)', `content type of ${where || res.status}`).toMatch(/^application\/problem\+json/);
  if (method === 'HEAD') return;
  const body = JSON.parse(res.body) as { status: number; title: string };
  expect(body.status).toBe(res.status);
  expect(typeof body.title).toBe('string');
  expect(res.body).not.toMatch(STACK_TRACE);
}

/** Kira's scheme: hex HMAC-SHA256 of the raw body with the secret string as key. */
export function signKira(body: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

export interface KeyState {
  /** Digest of the key's type and DUMP (its value and encoding). */
  digest: string;
  /** Milliseconds to live when the snapshot was taken; -1 for none. */
  pttl: number;
}

/** Every key under the prefix → its state. */
export async function redisSnapshot(prefix: string, url = REDIS_URL): Promise<Map<string, KeyState>> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const out = new Map<string, KeyState>();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const [type, dump, pttl] = await Promise.all([r.type(k), r.dumpBuffer(k), r.pttl(k)]);
        if (dump === null) continue; // expired between SCAN and DUMP
        out.set(k, { digest: createHash('sha256').update(type).update(dump).digest('hex'), pttl });
      }
    } while (cursor !== '0');
    return out;
  } finally {
    r.disconnect();
  }
}

/**
 * The keys that differ between two snapshots: added, changed, or removed, except keys removed
 * because they expired (a TTL under a minute when first seen, e.g. BullMQ's rate-limiter keys).
 */
export function changedKeys(before: Map<string, KeyState>, after: Map<string, KeyState>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  const expired = (k: string) => {
    const b = before.get(k);
    return !after.has(k) && b !== undefined && b.pttl > 0 && b.pttl < 60_000;
  };
  return [...keys].filter((k) => before.get(k)?.digest !== after.get(k)?.digest && !expired(k)).sort();
}

/** Every case as the API shows it, with its timeline, keyed by case id. */
export async function caseSnapshot(stack: Pick<Stack, 'api'>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  let cursor: string | null = null;
  do {
    const page = await stack.api(`/v1/cases?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    for (const c of page.body.items as { caseId: string }[]) {
      const full = await stack.api(`/v1/cases/${c.caseId}`);
      expect(full.status).toBe(200);
      out[c.caseId] = full.body;
    }
    cursor = page.body.nextCursor as string | null;
  } while (cursor);
  return out;
}

/** A raw TCP connection to the service: what was written, what came back, when it closed. */
export interface RawConnection {
  /** Bytes handed to the socket so far. */
  readonly written: number;
  /** Bytes written when the first byte of an answer arrived (undefined: none yet). */
  readonly writtenAtAnswer: number | undefined;
  readonly isClosed: boolean;
  /** The socket error that ended the connection (ECONNRESET, EPIPE...), if one did. */
  readonly error: string | undefined;
  received(): string;
  /** Resolves with the status code once an answer's status line is in. */
  answered: Promise<number>;
  closed: Promise<void>;
  /** Writes and waits until the socket takes more, or it closes. */
  write(data: Buffer | string): Promise<void>;
  destroy(): void;
}

export function rawConnect(baseUrl: string): Promise<RawConnection> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) }, () => resolve(conn));
    let written = 0;
    let writtenAtAnswer: number | undefined;
    let isClosed = false;
    let error: string | undefined;
    let text = '';
    let onStatus: (s: number) => void = () => undefined;
    const answered = new Promise<number>((r) => { onStatus = r; });
    const closed = new Promise<void>((r) => socket.once('close', () => { isClosed = true; r(); }));
    socket.on('error', (e: NodeJS.ErrnoException) => { error ??= e.code ?? e.message; }); // EPIPE / ECONNRESET once the server has had enough
    socket.once('error', reject);
    socket.on('data', (d: Buffer) => {
      writtenAtAnswer ??= written;
      text += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) onStatus(Number(m[1]));
    });
    const conn: RawConnection = {
      get written() { return written; },
      get writtenAtAnswer() { return writtenAtAnswer; },
      get isClosed() { return isClosed; },
      get error() { return error; },
      received: () => text,
      answered,
      closed,
      write(data) {
        if (isClosed) return Promise.resolve();
        const buf = Buffer.from(data);
        written += buf.length;
        return new Promise<void>((r) => {
          if (socket.write(buf)) r();
          else void Promise.race([new Promise((d) => socket.once('drain', d)), closed]).then(() => r());
        });
      },
      destroy: () => socket.destroy(),
    };
  });
}
