/**
 * nodeFetch (the provider clients' and simulators' HTTP) and deadlineSignal, against a real
 * server on 127.0.0.1:0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deadlineSignal } from '../../src/lib/abort.js';
import { httpRequest } from '../../src/lib/http.js';
import { nodeFetch } from '../../src/lib/node-fetch.js';
import { waitFor } from '../helpers/wait.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let url: string;
let handler: Handler;
const sockets = new Set<Socket>();
let connections = 0;

beforeEach(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  server.on('connection', (s) => {
    connections += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  connections = 0;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('nodeFetch', () => {
  it('sends method, headers and the exact body with its length, and answers status, headers and text', async () => {
    let seen: { method?: string; length?: string; type?: string; body?: string } = {};
    handler = (req, body, res) => {
      seen = { method: req.method, length: req.headers['content-length'], type: req.headers['content-type'], body };
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(201, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"ok":"é"}');
    };
    const res = await nodeFetch(`${url}/v1/users?x=1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"name":"é"}' });
    expect(seen).toEqual({ method: 'PUT', length: String(Buffer.byteLength('{"name":"é"}')), type: 'application/json', body: '{"name":"é"}' });
    expect(res.status).toBe(201);
    expect(res.headers.get('Retry-After')).toBe('7');
    expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(res.headers.get('x-missing')).toBeNull();
    expect(await res.text()).toBe('{"ok":"é"}');
  });

  it('keeps the connection alive between calls', async () => {
    handler = (_req, _body, res) => res.writeHead(200).end('ok');
    for (let i = 0; i < 3; i += 1) expect((await nodeFetch(`${url}/`, {})).status).toBe(200);
    expect(connections).toBe(1);
  });

  it('rejects with the signal reason when aborted before or during the call', async () => {
    handler = () => undefined; // never answers
    const before = new AbortController();
    before.abort(new Error('stopped before'));
    await expect(nodeFetch(`${url}/`, { signal: before.signal })).rejects.toThrow('stopped before');
    const during = new AbortController();
    const call = nodeFetch(`${url}/`, { signal: during.signal });
    await waitFor(() => connections > 0, { timeoutMs: 5_000, what: 'the call to reach the server' });
    during.abort(new Error('stopped during'));
    await expect(call).rejects.toThrow('stopped during');
  });

  it('rejects when the server cuts the answer short, and on a refused connection', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setImmediate(() => res.socket?.destroy());
    };
    await expect(nodeFetch(`${url}/`, {})).rejects.toThrow();
    await expect(nodeFetch('http://127.0.0.1:9/', {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('refuses a scheme it does not speak', async () => {
    await expect(nodeFetch('ftp://127.0.0.1/', {})).rejects.toThrow('unsupported protocol ftp:');
  });
});

describe('httpRequest over nodeFetch', () => {
  it('times out with a TimeoutError and reports the call as an error to the observer', async () => {
    handler = () => undefined;
    const seen: (number | 'error')[] = [];
    const call = httpRequest(nodeFetch, { method: 'GET', url: `${url}/`, headers: {}, operation: 'get_user', timeoutMs: 50 }, (e) => seen.push(e.status));
    await expect(call).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(seen).toEqual(['error']);
  });

  it('parses a JSON answer and leaves a non-JSON one undefined', async () => {
    handler = (req, _b, res) => res.writeHead(200).end(req.url === '/json' ? '{"a":1}' : 'plain');
    expect((await httpRequest(nodeFetch, { method: 'GET', url: `${url}/json`, headers: {}, operation: 'x', timeoutMs: 5_000 })).json).toEqual({ a: 1 });
    const plain = await httpRequest(nodeFetch, { method: 'GET', url: `${url}/text`, headers: {}, operation: 'x', timeoutMs: 5_000 });
    expect([plain.text, plain.json]).toEqual(['plain', undefined]);
  });
});

describe('deadlineSignal', () => {
  it('aborts with a TimeoutError once the deadline passes', async () => {
    const d = deadlineSignal(20);
    const reason = await new Promise<unknown>((r) => d.signal.addEventListener('abort', () => r(d.signal.reason), { once: true }));
    expect(reason).toMatchObject({ name: 'TimeoutError' });
    d.clear();
  });

  it('aborts with the parent reason, also when the parent was aborted already', () => {
    const parent = new AbortController();
    const d = deadlineSignal(60_000, parent.signal);
    parent.abort(new Error('shutdown'));
    expect(d.signal.reason).toEqual(new Error('shutdown'));
    d.clear();
    const late = deadlineSignal(60_000, parent.signal);
    expect(late.signal.aborted).toBe(true);
    late.clear();
  });

  it('detaches from the parent on clear', () => {
    const parent = new AbortController();
    const d = deadlineSignal(60_000, parent.signal);
    d.clear();
    parent.abort(new Error('after the work'));
    expect(d.signal.aborted).toBe(false);
  });
});
