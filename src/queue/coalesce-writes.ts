/**
 * One socket write per burst of Redis commands instead of one per command. ioredis writes each
 * command to the socket as it is sent, so a worker running 64 jobs makes a write system call for
 * every command, however many it sends in the same turn of the event loop. Corking the socket at
 * the first command of a turn and uncorking it on the next tick (after the promise callbacks that
 * run now, which send most of the follow-up commands) sends them together in one `writev`.
 * Nothing waits longer than the current turn, and the order of commands is the socket's, unchanged.
 * This is what node-redis does; ioredis's own batching (`enableAutoPipelining`) builds a pipeline
 * object per batch instead, which copies every defined script (BullMQ's and ours) onto it and
 * measured slower (BENCHMARKS.md).
 */
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

export function coalesceWrites(r: Redis): void {
  const send = r.sendCommand.bind(r);
  let corked: Socket | null = null;
  const uncork = (): void => {
    const s = corked;
    corked = null;
    s?.uncork();
  };
  r.sendCommand = (command, stream) => {
    const s = r.stream as Socket | undefined;
    if (!stream && s && corked !== s && s.writable) {
      if (corked) uncork();
      s.cork();
      corked = s;
      process.nextTick(uncork);
    }
    return send(command, stream);
  };
}
