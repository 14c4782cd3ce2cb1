import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';

/** The problems loadConfig reports for `env` (fails the test when it accepts it). */
export function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}
