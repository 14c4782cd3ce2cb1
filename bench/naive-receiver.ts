/**
 * The naive baseline the ingest benchmark compares against: what a hand-written receiver looks
 * like. express with `express.json()` and one `queue.add` per request; no signature check, no
 * dedupe, no metrics, no request log. Env: PORT, REDIS_URL, QUEUE_PREFIX.
 */
import express from 'express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const port = Number(process.env.PORT ?? 3100);
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const queue = new Queue('naive-events', { connection, prefix: process.env.QUEUE_PREFIX ?? 'naive' });

const app = express();
app.post('/webhooks/kira', express.json({ limit: '256kb' }), async (req, res) => {
  try {
    await queue.add('provider-event', req.body as object, { removeOnComplete: 1_000 });
    res.status(202).json({ received: true });
  } catch {
    res.status(503).json({ error: 'unavailable' });
  }
});
app.get('/healthz', (_req, res) => {
  res.json({ ok: true });
});

const server = app.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void queue.close().finally(() => {
    connection.disconnect();
    process.exit(0);
  });
});
