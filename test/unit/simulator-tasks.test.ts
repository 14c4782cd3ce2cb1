import { afterEach, describe, expect, it } from 'vitest';
import { createTaskTracker, SimulatorClosedError } from '../../src/simulators/shared/tasks.js';

const warnings: Error[] = [];
const onWarning = (w: Error): void => { warnings.push(w); };
afterEach(() => {
  process.off('warning', onWarning);
  warnings.length = 0;
});

describe('simulator task tracker', () => {
  it('lets hundreds of pending sleeps share its close signal without a listener-leak warning, and close rejects them all', async () => {
    process.on('warning', onWarning);
    const t = createTaskTracker(() => undefined);
    const sleeps = Array.from({ length: 300 }, () => t.sleep(60_000));
    for (let i = 0; i < 300; i++) t.signal.addEventListener('abort', () => undefined, { once: true });
    t.close();
    const settled = await Promise.allSettled(sleeps);
    expect(settled.every((r) => r.status === 'rejected' && r.reason instanceof SimulatorClosedError)).toBe(true);
    // Node reports a listener leak asynchronously (process 'warning'): let it arrive if it will.
    await new Promise((r) => setImmediate(r));
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    await t.idle();
  });
});
