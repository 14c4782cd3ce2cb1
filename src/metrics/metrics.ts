/**
 * Every metric of the service, on its own Registry (never the global one). Labels carry no
 * personal data and no per-user values: provider, outcome, state and reason codes only.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcomes of `kyc_webhooks_received_total`, exactly as the ingest route reports them. */
export const WEBHOOK_OUTCOMES = ['accepted', 'duplicate', 'bad_signature', 'stale', 'malformed', 'unknown_event', 'unavailable'] as const;

/** One `kyc_queue_jobs` sample: jobs of a queue in one BullMQ state. */
export interface QueueCount { queue: string; state: string; count: number }
/** One provider's escalations: open now, and open for longer than the escalation SLA. */
export interface EscalationCount { provider: string; open: number; overdue: number }

/**
 * Values read at scrape time (from Redis, cached by their sources). A source that is not set
 * (e.g. no workers in this process) or that fails emits no samples rather than stale ones.
 */
export interface ScrapeSources {
  queueCounts?: () => Promise<QueueCount[] | undefined>;
  escalations?: () => Promise<EscalationCount[] | undefined>;
  /** Per queue, whether this process's worker picks up waiting jobs (worker-activity.ts); worker processes only. */
  workersConsuming?: () => { queue: string; consuming: boolean }[];
  /** Each provider's circuit breaker state, read from Redis (shared by every process). */
  circuits?: () => Promise<{ provider: string; state: CircuitStateName }[] | undefined>;
}

/** States of `kyc_circuit_state` and the value each is reported as (ordered by severity). */
export const CIRCUIT_STATES = { closed: 0, half_open: 1, open: 2 } as const;
export type CircuitStateName = keyof typeof CIRCUIT_STATES;

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // These three are gauges named like counters, which `promtool check metrics` rejects; the
    // same values stay available per type as nodejs_active_{handles,requests,resources}.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  }
  const r = [registry];
  const sources: ScrapeSources = {};
  return {
    registry,
    /** Sets the scrape-time sources (service.ts wires them once the queues and store exist). */
    setSources(s: ScrapeSources): void {
      Object.assign(sources, s);
    },
    webhooksReceived: new Counter({
      name: 'kyc_webhooks_received_total', help: 'Provider webhooks received, by outcome',
      labelNames: ['provider', 'outcome'] as const, registers: r,
    }),
    webhookAck: new Histogram({
      name: 'kyc_webhook_ack_seconds', help: 'Time from request to webhook acknowledgement',
      labelNames: ['provider'] as const, registers: r,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    }),
    providerRequests: new Counter({
      name: 'kyc_provider_requests_total', help: 'Outbound provider API requests',
      labelNames: ['provider', 'operation', 'code_class'] as const, registers: r,
    }),
    providerRequestSeconds: new Histogram({
      name: 'kyc_provider_request_seconds', help: 'Outbound provider API request duration',
      labelNames: ['provider', 'operation'] as const, registers: r,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    transitions: new Counter({
      name: 'kyc_case_transitions_total', help: 'Case status transitions',
      labelNames: ['provider', 'from', 'to'] as const, registers: r,
    }),
    decisions: new Counter({
      name: 'kyc_decisions_total', help: 'Decisions taken on provider outcomes, by action and reason code',
      labelNames: ['provider', 'action', 'reason_code'] as const, registers: r,
    }),
    timeToDecision: new Histogram({
      name: 'kyc_time_to_decision_seconds', help: 'Time from onboarding request to a terminal decision',
      labelNames: ['provider', 'outcome'] as const, registers: r,
      buckets: [1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400, 604800],
    }),
    jobDuration: new Histogram({
      name: 'kyc_job_duration_seconds', help: 'Job processing time',
      labelNames: ['queue', 'outcome'] as const, registers: r,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    }),
    jobRetries: new Counter({
      name: 'kyc_job_retries_total', help: 'Job attempts that failed and will be retried',
      labelNames: ['queue'] as const, registers: r,
    }),
    reconcileDrift: new Counter({
      name: 'kyc_reconcile_drift_total', help: 'Provider states found by polling that no webhook had delivered',
      labelNames: ['provider'] as const, registers: r,
    }),
    reconcilePolls: new Counter({
      name: 'kyc_reconcile_polls_total', help: 'Provider polls made by the reconciler',
      labelNames: ['provider'] as const, registers: r,
    }),
    unknownReasons: new Counter({
      name: 'kyc_unknown_reasons_total', help: 'Provider reasons that mapped to no reason code',
      labelNames: ['provider'] as const, registers: r,
    }),
    /** Partner notifications by outcome (e.g. delivered, retried, failed). */
    notifications: new Counter({
      name: 'kyc_notifications_total', help: 'Partner webhook notifications, by delivery outcome',
      labelNames: ['outcome'] as const, registers: r,
    }),
    queueJobs: new Gauge({
      name: 'kyc_queue_jobs', help: 'Jobs per queue and BullMQ state, read from Redis at scrape time',
      labelNames: ['queue', 'state'] as const, registers: r,
      async collect() {
        const counts = await sources.queueCounts?.();
        this.reset();
        for (const c of counts ?? []) this.set({ queue: c.queue, state: c.state }, c.count);
      },
    }),
    escalationsOpen: new Gauge({
      name: 'kyc_escalations_open', help: 'Cases escalated to a human and not yet resolved',
      labelNames: ['provider'] as const, registers: r,
      async collect() {
        const counts = await sources.escalations?.();
        this.reset();
        for (const c of counts ?? []) this.set({ provider: c.provider }, c.open);
      },
    }),
    escalationsOverdue: new Gauge({
      name: 'kyc_escalations_overdue', help: 'Escalated cases open for longer than the escalation SLA',
      labelNames: ['provider'] as const, registers: r,
      async collect() {
        const counts = await sources.escalations?.();
        this.reset();
        for (const c of counts ?? []) this.set({ provider: c.provider }, c.overdue);
      },
    }),
    workerConsuming: new Gauge({
      name: 'kyc_worker_consuming', help: '1 while this process\'s worker of the queue picks up waiting jobs, 0 once it stalled',
      labelNames: ['queue'] as const, registers: r,
      collect() {
        this.reset();
        for (const w of sources.workersConsuming?.() ?? []) this.set({ queue: w.queue }, w.consuming ? 1 : 0);
      },
    }),
    circuitState: new Gauge({
      name: 'kyc_circuit_state', help: 'Provider circuit breaker: 0 closed, 1 half-open (probing), 2 open (calls held back); read from Redis at scrape time',
      labelNames: ['provider'] as const, registers: r,
      async collect() {
        const states = await sources.circuits?.();
        this.reset();
        for (const c of states ?? []) this.set({ provider: c.provider }, CIRCUIT_STATES[c.state]);
      },
    }),
    circuitTransitions: new Counter({
      name: 'kyc_circuit_transitions_total', help: 'Provider circuit breaker transitions made by this process, by new state',
      labelNames: ['provider', 'to'] as const, registers: r,
    }),
    circuitRejected: new Counter({
      name: 'kyc_circuit_rejected_total', help: 'Provider calls not made because the circuit was open or a probe was in flight',
      labelNames: ['provider'] as const, registers: r,
    }),
  };
}

/**
 * Starts the counters whose label values are known up front at zero, so that rate() and
 * increase() see the first event and alerts on "no events" have a series to look at.
 */
export function initCounters(m: Metrics, opts: { providers: readonly string[]; queues: readonly string[] }): void {
  for (const provider of opts.providers) {
    for (const outcome of WEBHOOK_OUTCOMES) m.webhooksReceived.inc({ provider, outcome }, 0);
    m.reconcileDrift.inc({ provider }, 0);
    m.reconcilePolls.inc({ provider }, 0);
    m.unknownReasons.inc({ provider }, 0);
    for (const to of Object.keys(CIRCUIT_STATES)) m.circuitTransitions.inc({ provider, to }, 0);
    m.circuitRejected.inc({ provider }, 0);
  }
  for (const queue of opts.queues) m.jobRetries.inc({ queue }, 0);
}

export type Metrics = ReturnType<typeof createMetrics>;

export function codeClass(status: number | 'error'): string {
  return status === 'error' ? 'error' : `${Math.floor(status / 100)}xx`;
}
