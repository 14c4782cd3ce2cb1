/**
 * The end-to-end driver's HTTP client (and, pooled, the benchmark simulator's webhook sender):
 * one keep-alive socket, one request at a time, written as prepared bytes and read back by
 * Content-Length. The driver shares the two cores with the
 * processes it measures, so it does the least a client can (autocannon's approach): no request
 * objects, no agent, no header parsing beyond the status line and the body length. An answer
 * without Content-Length, or a socket that closes mid-answer, is an error.
 */
import { connect, type Socket } from 'node:net';
import type { FetchFn } from '../../src/lib/node-fetch.js';

export interface RawAnswer {
  status: number;
  body: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** A request's line and headers as `RawHttpConnection.request` takes them (no blank line, no length). */
export function requestHead(method: string, target: URL, headers: Record<string, string>): string {
  const lines = Object.entries(headers).map(([k, v]) => `\r\n${k}: ${v}`).join('');
  return `${method} ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}${lines}`;
}
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

export class RawHttpConnection {
  private socket: Socket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve(a: RawAnswer): void; reject(e: Error): void } | undefined;

  constructor(private readonly host: string, private readonly port: number) {}

  /** Sends `head` (request line and headers, without the blank line) and `body`; resolves with the answer. */
  request(head: string, body: string): Promise<RawAnswer> {
    if (this.waiting) return Promise.reject(new Error('one request at a time per connection'));
    const socket = this.socket ?? this.open();
    return new Promise<RawAnswer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      socket.write(`${head}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Socket {
    const s = connect({ host: this.host, port: this.port, noDelay: true });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error): void => {
      this.socket = undefined;
      this.buf = Buffer.alloc(0);
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(err);
    };
    s.on('error', fail);
    s.on('close', () => fail(new Error('connection closed before the answer')));
    this.socket = s;
    return s;
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const headEnd = this.buf.indexOf(HEAD_END);
    if (headEnd === -1) return;
    const head = this.buf.toString('latin1', 0, headEnd);
    const len = CONTENT_LENGTH.exec(head);
    const w = this.waiting;
    if (!len) {
      this.close();
      this.waiting = undefined;
      w?.reject(new Error(`answer without content-length: ${head.split('\r\n')[0] ?? ''}`));
      return;
    }
    const bodyStart = headEnd + HEAD_END.length;
    const bodyEnd = bodyStart + Number(len[1]);
    if (this.buf.length < bodyEnd) return;
    const answer = { status: Number(head.slice(9, 12)), body: this.buf.toString('utf8', bodyStart, bodyEnd) };
    this.buf = this.buf.subarray(bodyEnd);
    this.waiting = undefined;
    w?.resolve(answer);
  }
}

/**
 * A `FetchFn` on pooled raw connections: what the benchmark's Kira simulator posts its webhooks
 * with. The simulator stands in for a provider that runs on machines of its own; here it shares
 * the two cores with the service, and node:http's client (request objects, agent, header
 * parsing, an abort listener per call) cost a third of its CPU. The answer's status and body are
 * read; its headers are not (`get` answers null), which is all the webhook sender looks at.
 */
export function pooledRawFetch(): FetchFn {
  const idle = new Map<string, RawHttpConnection[]>();
  return async (url, init) => {
    const target = new URL(url);
    if (target.protocol !== 'http:') throw new TypeError(`pooledRawFetch speaks http only, not ${target.protocol}`);
    const signal = init.signal;
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
    const origin = target.host;
    const conn = idle.get(origin)?.pop() ?? new RawHttpConnection(target.hostname, Number(target.port || 80));
    const head = requestHead(init.method ?? 'GET', target, init.headers ?? {});
    const onAbort = (): void => conn.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const answer = await conn.request(head, init.body ?? '');
      const list = idle.get(origin) ?? [];
      list.push(conn);
      idle.set(origin, list);
      return { status: answer.status, headers: { get: () => null }, text: () => Promise.resolve(answer.body) };
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  };
}
