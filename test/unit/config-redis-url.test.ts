import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { problemsOf } from '../helpers/config.js';
import { loadConfig } from '../../src/config/env.js';
import { hasHashTag, parseRedisUrl, redactRedisUrl } from '../../src/config/redis-url.js';
import { clusterOptions, createRedis, redisOptions } from '../../src/queue/redis.js';

describe('parseRedisUrl', () => {
  it('keeps redis:// and rediss:// URLs as they are (one Redis)', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ kind: 'standalone', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisUrl(' rediss://user:pw@cache.internal:6380/2 ')).toEqual({ kind: 'standalone', url: 'rediss://user:pw@cache.internal:6380/2' });
  });

  it('reads a cluster URL: seed nodes, default port, credentials for every node, TLS from rediss+cluster', () => {
    expect(parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001,redis-3')).toEqual({
      kind: 'cluster', tls: false, nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: 'redis-3', port: 6379 }],
    });
    expect(parseRedisUrl('rediss+cluster://app:p%40ss%3Aword@a.example:7000,[::1]:7001/')).toEqual({
      kind: 'cluster', tls: true, username: 'app', password: 'p@ss:word', nodes: [{ host: 'a.example', port: 7000 }, { host: '::1', port: 7001 }],
    });
    expect(parseRedisUrl('redis+cluster://:secret@h:7000')).toEqual({ kind: 'cluster', tls: false, password: 'secret', nodes: [{ host: 'h', port: 7000 }] });
  });

  it.each([
    ['redis+cluster://', /host:port/],
    ['redis+cluster://a:7000,,b:7001', /host:port/],
    ['redis+cluster://a:7000,b:99999', /"b:99999" is not a host:port/],
    ['redis+cluster://a:7000/1', /no database number/],
    ['redis+cluster://a:7000?tls=1', /no database number/],
    ['http://127.0.0.1:6379', /must be redis:\/\//],
    ['nope', /must be redis:\/\//],
  ])('refuses %s', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('redacts the password of either form and never echoes what it cannot parse', () => {
    expect(redactRedisUrl('redis://:s3cret@127.0.0.1:6379')).toBe('redis://:***@127.0.0.1:6379');
    expect(redactRedisUrl('rediss+cluster://app:s3cret@a:7000,[::1]:7001')).toBe('rediss+cluster://app:***@a:7000,[::1]:7001');
    expect(redactRedisUrl('redis+cluster://a:7000,b:7001')).toBe('redis+cluster://a:7000,b:7001');
    expect(redactRedisUrl('redis+cluster://u:s3cret@a:7000/9')).toBe('(unparseable REDIS_URL)');
  });

  it('knows which prefixes keep a deployment in one slot', () => {
    expect(['{kyc}', '{kyc}-eu', 'app{kyc}', '{t-1a2b}'].map(hasHashTag)).toEqual([true, true, true, true]);
    expect(['kyc', '{}kyc', 'kyc}{', '{kyc'].map(hasHashTag)).toEqual([false, false, false, false]);
  });
});

describe('REDIS_URL in the config', () => {
  it('accepts a cluster URL with the default prefix', () => {
    const c = loadConfig({ REDIS_URL: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7000' });
    expect(c.REDIS_URL).toBe('redis+cluster://10.0.0.1:7000,10.0.0.2:7000');
    expect(c.QUEUE_PREFIX).toBe('{kyc}');
  });

  it('names REDIS_URL with what is wrong', () => {
    expect(problemsOf({ REDIS_URL: 'redis+cluster://a:7000/3' })).toEqual(['REDIS_URL: a cluster URL takes no database number, path or options (a cluster only has database 0)']);
  });

  it('refuses a prefix without a hash tag on a cluster, and still allows it on one Redis', () => {
    expect(problemsOf({ REDIS_URL: 'redis+cluster://a:7000', QUEUE_PREFIX: 'kyc' })).toEqual([expect.stringMatching(/^QUEUE_PREFIX: on a Redis Cluster it must hold a hash tag/)]);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', QUEUE_PREFIX: 'kyc' }).QUEUE_PREFIX).toBe('kyc');
  });
});

describe('createRedis', () => {
  it('gives a cluster the per-role options of a single Redis: producers fail fast, workers wait (BullMQ)', () => {
    const target = { kind: 'cluster' as const, nodes: [{ host: 'a', port: 7000 }], username: 'app', password: 'pw', tls: true };
    const producer = clusterOptions('producer', target);
    expect(producer).toMatchObject({ enableOfflineQueue: false, lazyConnect: false, redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2_000, username: 'app', password: 'pw', tls: {} } });
    expect(producer.clusterRetryStrategy?.(3)).toBe(redisOptions('producer').retryStrategy?.(3));
    const worker = clusterOptions('worker', { ...target, tls: false, username: undefined, password: undefined });
    expect(worker).toMatchObject({ enableOfflineQueue: true, redisOptions: { maxRetriesPerRequest: null } });
    expect(worker.redisOptions).not.toHaveProperty('tls');
    expect(worker.redisOptions).not.toHaveProperty('password');
  });

  it('returns an ioredis Cluster for a cluster URL and a Redis otherwise', () => {
    // Port 1: nothing listens; the clients are dropped before they get anywhere.
    const cluster = createRedis('redis+cluster://127.0.0.1:1,127.0.0.1:2', 'producer');
    const single = createRedis('redis://127.0.0.1:1', 'worker');
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      expect(single).toBeInstanceOf(Redis);
      expect(single.options).toMatchObject({ maxRetriesPerRequest: null });
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
  });
});
