import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Histogram, Registry, collectDefaultMetrics } from '@prometheus-io/client';
import { auditChannel, type NewAuditEvent } from './data/audit-repository.ts';

/**
 * SPEC O1: what `/metrics` tells Prometheus about this process. Requests are counted by the
 * middleware; everything the core does is counted from its audit records, so that a sign-in, a
 * verification or a lockout is counted exactly where it is recorded and nowhere else.
 */
export interface Metrics {
  readonly contentType: string;
  /** One finished request: its method, the portal area it went to, its status and duration. */
  observeRequest(request: { method: string; area: string; status: number; seconds: number }): void;
  /** The exposition, in Prometheus text format. */
  render(): Promise<string>;
  /** Stops counting audit records (the portal is closing). */
  close(): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requests = new Histogram({
    name: 'mfa_http_request_duration_seconds',
    help: 'HTTP requests answered, by method, portal area and status, and how long they took.',
    labelNames: ['method', 'area', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const signIns = new Counter({
    name: 'mfa_sign_ins_total',
    help: 'Password steps of sign-in, by result.',
    labelNames: ['result'] as const,
    registers,
  });
  const verifications = new Counter({
    name: 'mfa_verifications_total',
    help: 'Counted second-factor checks (the second step of sign-in, a proof before a change), by method and result.',
    labelNames: ['purpose', 'method', 'result'] as const,
    registers,
  });
  const callsAndTexts = new Counter({
    name: 'mfa_calls_and_texts_total',
    help: 'Calls and texts settled by the provider or held by a limit, by method and result.',
    labelNames: ['method', 'result'] as const,
    registers,
  });
  const lockouts = new Counter({
    name: 'mfa_lockouts_total',
    help: 'Accounts locked after too many failures.',
    registers,
  });
  const fraudAlerts = new Counter({
    name: 'mfa_fraud_alerts_total',
    help: 'Calls on which the user entered the fraud code.',
    registers,
  });
  const enrolments = new Counter({
    name: 'mfa_enrolments_total',
    help: 'User Setups completed.',
    registers,
  });
  const events = new Counter({
    name: 'mfa_audit_events_total',
    help: 'Every audit record, by type and result.',
    labelNames: ['type', 'result'] as const,
    registers,
  });

  const count = (message: unknown) => {
    const event = message as NewAuditEvent;
    const result = event.result;
    events.inc({ type: event.type, result });
    if (event.type === 'sign-in.password') signIns.inc({ result });
    else if (event.type === 'lockout') lockouts.inc();
    else if (event.type === 'fraud-alert') fraudAlerts.inc();
    else if (event.type === 'enrolment') enrolments.inc();
    const method = event.method ?? 'unknown';
    if (event.type === 'sign-in.second-step' || event.type === 'proof') {
      verifications.inc({ purpose: event.type === 'proof' ? 'proof' : 'sign-in', method, result });
    } else if (event.type.startsWith('verification.')) {
      callsAndTexts.inc({ method, result });
    }
  };
  subscribe(auditChannel, count);

  return {
    contentType: registry.contentType,
    observeRequest({ method, area, status, seconds }) {
      requests.observe({ method, area, status: String(status) }, seconds);
    },
    render: () => registry.metrics(),
    close() {
      unsubscribe(auditChannel, count);
    },
  };
}
