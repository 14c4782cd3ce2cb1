/**
 * The state machine's side of "an event without its reasons" (Kraken user.disabled / user.closed):
 * with `informational` + `pollForDetails` it decides nothing, records the provider status and asks
 * for an immediate poll (`pollNow`); the poll then decides on the reasons the GET returns.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/kyc/state-machine.js';
import type { KycCase, ProviderEvent } from '../../src/kyc/types.js';
import { fixedClock } from '../../src/lib/clock.js';

const NOW = fixedClock('2026-05-01T12:00:00.000Z').now();
const policy = { maxAttempts: 3 };

const kase = (over: Partial<KycCase> = {}): KycCase => ({
  id: 'case-1',
  provider: 'kraken',
  externalId: 'p-1',
  status: 'awaiting_verification',
  applicant: { externalId: 'p-1' },
  providerUserId: 'AA12 ABCD EFGH IJKL',
  providerStatus: 'onboarding',
  reasons: [],
  attempts: 0,
  createRound: 0,
  version: 3,
  createdAt: NOW.toISOString(),
  updatedAt: NOW.toISOString(),
  ...over,
});

const event = (over: Partial<ProviderEvent> = {}): ProviderEvent => ({
  provider: 'kraken',
  providerEventId: 'AEGXGV-JZ4I2-6QXEJS',
  type: 'user.disabled',
  userRef: 'AA12 ABCD EFGH IJKL',
  source: 'webhook',
  providerStatus: 'disabled',
  outcome: 'rejected',
  terminal: true,
  informational: true,
  pollForDetails: true,
  reasons: [],
  ...over,
});

describe('provider events whose reasons only a poll returns', () => {
  it('record the status, decide nothing and ask for a poll now', () => {
    const t = decide(kase(), { kind: 'provider_event', event: event() }, policy, NOW);
    expect(t).toMatchObject({
      to: 'awaiting_verification',
      event: 'webhook:user.disabled',
      pollNow: true,
      patch: { providerStatus: 'disabled' },
    });
    expect(t!.detail).toBe('provider status disabled; reasons are read from the provider now');
    expect(t!.reasons).toBeUndefined();
  });

  it('the poll that follows decides on the real reasons: suspected fraud → rejected', () => {
    const polled = event({
      source: 'poll',
      type: 'poll',
      informational: undefined,
      pollForDetails: undefined,
      reasons: [{ code: 'fraud_suspected', providerText: 'suspected_document_fraud' }],
    });
    const t = decide(
      kase({ providerStatus: 'disabled' }),
      { kind: 'provider_event', event: polled },
      policy,
      NOW,
    );
    expect(t).toMatchObject({ to: 'rejected', reasons: [{ code: 'fraud_suspected' }] });
    expect(t!.pollNow).toBeUndefined();
  });

  it('an informational event without pollForDetails (Kira status_changed REJECTED) does not poll now; a repeat is nothing', () => {
    const kira = decide(
      kase({ provider: 'kira', providerStatus: 'CREATED' }),
      {
        kind: 'provider_event',
        event: event({ provider: 'kira', providerStatus: 'REJECTED', pollForDetails: undefined }),
      },
      policy,
      NOW,
    );
    expect(kira).toMatchObject({ to: 'awaiting_verification' });
    expect(kira!.pollNow).toBeUndefined();
    expect(
      decide(
        kase({ providerStatus: 'disabled' }),
        { kind: 'provider_event', event: event() },
        policy,
        NOW,
      ),
    ).toBeNull();
  });
});
