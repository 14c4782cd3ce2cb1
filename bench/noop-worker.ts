/**
 * The ceiling for the end-to-end benchmark: a bare BullMQ worker whose processor does nothing,
 * draining a queue filled beforehand. Input in BENCH_INPUT: {url, prefix, jobs, concurrency};
 * answers with one JSON line: jobs/s of the worker (and of the bulk add, for reference), and
 * the worker process's CPU per job while draining.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

interface Input { url: string; prefix: string; jobs: number; concurrency: number }

async function main(): Promise<void> {
  const input = JSON.parse(process.env.BENCH_INPUT ?? '{}') as Input;
  const connection = new Redis(input.url, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection, prefix: input.prefix });
  const addStarted = performance.now();
  for (let i = 0; i < input.jobs; i += 1_000) {
    const n = Math.min(1_000, input.jobs - i);
    await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: { removeOnComplete: 1_000 } })));
  }
  const addSeconds = (performance.now() - addStarted) / 1000;
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
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  process.stdout.write(`${JSON.stringify({ jobs: input.jobs, seconds, jobsPerSec: input.jobs / seconds, addPerSec: input.jobs / addSeconds, concurrency: input.concurrency, workerCpuUsPerJob: (used.user + used.system) / input.jobs })}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`noop-worker: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
