/**
 * Limits against a real running service, over raw TCP so that what the client managed to send
 * is measured: bodies over the limit are answered 413 without being read whole (a declared
 * Content-Length before any body byte; a chunked body that never ends once it passes the limit),
 * and the connection is dropped after a bounded amount more; slow clients are cut off by the
 * request and headers timeouts (configurable: REQUEST_TIMEOUT, HEADERS_TIMEOUT).
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { DISCARD_AT_MOST } from '../../src/http/respond.js';
import { startStack, TOKEN, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { rawConnect, signKira, type RawConnection } from './tools.js';
import { SECRETS } from '../helpers/stack.js';

const MB = 1024 * 1024;
const WEBHOOK_LIMIT = 256 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'a');
/** What a client may have handed to its socket beyond what the server read: loopback buffers. */
const SOCKET_BUFFERS = 4 * MB;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ role: 'api', env: { REQUEST_TIMEOUT: '1500ms', HEADERS_TIMEOUT: '800ms' } });
});
afterAll(async () => stack?.close());

function head(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Keeps sending `chunk` until the server closes the connection or `cap` bytes were handed over. */
async function sendUntilClosed(conn: RawConnection, chunk: Buffer, cap: number): Promise<void> {
  while (!conn.isClosed && conn.written < cap) {
    await conn.write(chunk);
    // The service runs in this process: let it read between chunks, as a remote server would.
    await new Promise((r) => setImmediate(r));
  }
}

function chunked(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
}

describe('request bodies over the limit', () => {
  it('answers 413 to a declared Content-Length over 256 KB before a single body byte is sent', async () => {
    const conn = await rawConnect(stack.url);
    await conn.write(head(['POST /webhooks/kira HTTP/1.1', 'Host: x', 'Content-Type: application/json', `Content-Length: ${50 * MB}`]));
    expect(await conn.answered).toBe(413);
    expect(conn.writtenAtAnswer).toBeLessThan(200); // the headers only
    await waitFor(() => conn.received().includes('"status":413'), { what: 'the problem body' });
    expect(conn.received()).toMatch(/content-type: application\/problem\+json/i);
    expect(conn.received()).toMatch(/connection: close/i);
    // Then it keeps sending: the server discards at most DISCARD_AT_MOST more and drops the connection.
    await sendUntilClosed(conn, CHUNK, 50 * MB);
    await conn.closed;
    expect(conn.written).toBeLessThan(DISCARD_AT_MOST + SOCKET_BUFFERS);
    console.info(`413 figures (Content-Length 50 MB): answered after ${conn.writtenAtAnswer} bytes, connection dropped after ${conn.written} bytes`);
  });

  it('answers 413 to a chunked body that never ends, once it passes 256 KB, and drops the connection', async () => {
    const conn = await rawConnect(stack.url);
    await conn.write(head(['POST /webhooks/kira HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked']));
    // 64 MB would take the server well under a second to read on loopback if it kept reading.
    const sending = sendUntilClosed(conn, chunked(CHUNK), 64 * MB);
    expect(await conn.answered).toBe(413);
    await sending;
    await conn.closed;
    expect(conn.writtenAtAnswer).toBeGreaterThan(WEBHOOK_LIMIT);
    expect(conn.writtenAtAnswer).toBeLessThan(WEBHOOK_LIMIT + SOCKET_BUFFERS);
    expect(conn.written).toBeLessThan(WEBHOOK_LIMIT + DISCARD_AT_MOST + 2 * SOCKET_BUFFERS);
    console.info(`413 figures (endless chunked body): answered after ${conn.writtenAtAnswer} bytes, connection dropped after ${conn.written} bytes`);
  });

  it('applies the limit to the inflated bytes: a 10 MB gzip bomb of a few KB gets 413', async () => {
    const bomb = gzipSync(Buffer.alloc(10 * MB));
    expect(bomb.length).toBeLessThan(WEBHOOK_LIMIT);
    const res = await fetch(`${stack.url}/webhooks/kira`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-signature-sha256': signKira(bomb, SECRETS[0]!) }, body: bomb });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });

  it('answers /v1 bodies over 64 KB with 413, and unauthenticated ones with 401, before reading them', async () => {
    for (const [auth, status] of [[`Bearer ${TOKEN}`, 413], ['Bearer wrong', 401]] as const) {
      const conn = await rawConnect(stack.url);
      await conn.write(head(['POST /v1/onboardings HTTP/1.1', 'Host: x', `Authorization: ${auth}`, 'Content-Type: application/json', `Content-Length: ${20 * MB}`]));
      expect(await conn.answered).toBe(status);
      expect(conn.writtenAtAnswer).toBeLessThan(300);
      await sendUntilClosed(conn, CHUNK, 20 * MB);
      await conn.closed;
      expect(conn.written).toBeLessThan(DISCARD_AT_MOST + SOCKET_BUFFERS);
    }
  });

  it('keeps the connection for a small refused body (read off, not reset) and answers the next request on it', async () => {
    const conn = await rawConnect(stack.url);
    const body = '{"provider":"kira"}';
    await conn.write(head(['POST /v1/onboardings HTTP/1.1', 'Host: x', 'Content-Type: application/json', `Content-Length: ${body.length}`]) + body);
    expect(await conn.answered).toBe(401);
    await conn.write(head(['GET /healthz HTTP/1.1', 'Host: x']));
    await waitFor(() => conn.received().includes('{"status":"ok"}'), { what: 'the second answer on the same connection' });
    expect(conn.isClosed).toBe(false);
    conn.destroy();
  });
});

describe('slow clients', () => {
  it('drops a client that sends its headers byte by byte (HEADERS_TIMEOUT)', async () => {
    const conn = await rawConnect(stack.url);
    const headers = head(['GET /healthz HTTP/1.1', 'Host: x', `X-Padding: ${'p'.repeat(200)}`]);
    let i = 0;
    const trickle = setInterval(() => { if (i < headers.length) void conn.write(headers[i++]!); }, 50);
    try {
      await waitFor(() => conn.isClosed, { timeoutMs: 10_000, what: 'the server to drop the slow client' });
    } finally {
      clearInterval(trickle);
    }
    expect(i).toBeLessThan(headers.length); // dropped before it finished sending its headers
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('drops a client that sends its body byte by byte (REQUEST_TIMEOUT)', async () => {
    const conn = await rawConnect(stack.url);
    const body = JSON.stringify({ event: 'user.verification.accepted', data: { event_id: 'slow', user_id: 'u', pad: 'x'.repeat(200) } });
    await conn.write(head(['POST /webhooks/kira HTTP/1.1', 'Host: x', 'Content-Type: application/json', `Content-Length: ${body.length}`, `X-Signature-SHA256: ${signKira(body, SECRETS[0]!)}`]));
    let i = 0;
    const trickle = setInterval(() => { if (i < body.length) void conn.write(body[i++]!); }, 25);
    try {
      await waitFor(() => conn.isClosed, { timeoutMs: 10_000, what: 'the server to drop the slow client' });
    } finally {
      clearInterval(trickle);
    }
    expect(i).toBeLessThan(body.length);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('REQUEST_TIMEOUT and HEADERS_TIMEOUT', () => {
  it('default to 30 s and 10 s, take durations, and refuse a headers timeout above the request timeout', () => {
    expect(loadConfig({})).toMatchObject({ REQUEST_TIMEOUT: 30_000, HEADERS_TIMEOUT: 10_000 });
    expect(loadConfig({ REQUEST_TIMEOUT: '2m', HEADERS_TIMEOUT: '500ms' })).toMatchObject({ REQUEST_TIMEOUT: 120_000, HEADERS_TIMEOUT: 500 });
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ REQUEST_TIMEOUT: '5s', HEADERS_TIMEOUT: '6s' })).toEqual([expect.stringMatching(/^HEADERS_TIMEOUT: must not exceed REQUEST_TIMEOUT/)]);
    expect(problems({ HEADERS_TIMEOUT: '31s' })).toEqual([expect.stringMatching(/^HEADERS_TIMEOUT/)]);
    expect(problems({ REQUEST_TIMEOUT: '0s' })).toEqual(expect.arrayContaining([expect.stringMatching(/^REQUEST_TIMEOUT: must be more than 0/)]));
    expect(problems({ HEADERS_TIMEOUT: 'soon' })).toEqual([expect.stringMatching(/^HEADERS_TIMEOUT:/)]);
  });
});
