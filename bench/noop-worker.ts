/**
 * The ceiling for the end-to-end benchmark: a bare BullMQ worker whose processor does nothing,
 * draining a queue filled beforehand. Input in BENCH_INPUT: {url, prefix, jobs, concurrency};
 * answers with one JSON line: jobs/s of the worker (and of the bulk add, for reference), and
 * the CPU per job of the worker process and of Redis while draining. Redis's is read from its
 * own INFO around the drain, so the work of filling the queue is not counted as the ceiling's:
 * the ceiling's rate is the drain's, and its CPU per job must be too.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { redisCpuSeconds } from './lib/redis.js';

interface Input { url: string; prefix: string; jobs: number; concurrency: number }

async function main(): Promise<void> {
  const input = JSON.parse(process.env.BENCH_INPUT ?? '{}') as Input;
  const connection = new Redis(input.url, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection, prefix: input.prefix });
  const addCpu = await redisCpuSeconds(connection);
  const addStarted = performance.now();
  for (let i = 0; i < input.jobs; i += 1_000) {
    const n = Math.min(1_000, input.jobs - i);
    await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: { removeOnComplete: 1_000 } })));
  }
  const addSeconds = (performance.now() - addStarted) / 1000;
  const drainCpu = await redisCpuSeconds(connection);
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => { finished = r; });
  const started = performance.now();
  const cpu = process.cpuUsage();
  const worker = new Worker('noop', () => Promise.resolve(), { connection: new Redis(input.url, { maxRetriesPerRequest: null }), prefix: input.prefix, concurrency: input.concurrency });
  worker.on('completed', () => {
    done += 1;
    if (done === input.jobs) finished();
  });
  await all;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const redisDrain = (await redisCpuSeconds(connection)) - drainCpu;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  process.stdout.write(`${JSON.stringify({ jobs: input.jobs, seconds, jobsPerSec: input.jobs / seconds, addPerSec: input.jobs / addSeconds, concurrency: input.concurrency, workerCpuUsPerJob: (used.user + used.system) / input.jobs,
    redisCpuUsPerJob: Math.round((redisDrain * 1e6) / input.jobs), redisAddCpuUsPerJob: Math.round(((drainCpu - addCpu) * 1e6) / input.jobs),
  })}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`noop-worker: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
