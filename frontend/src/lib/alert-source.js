// Where an alert came from, in words: one place, so the banner, the machine and the ticket say it
// the same way. The API's `source` of an alert (and of its pushed frame).
import { percent } from './format.js';

export const ALERT_SOURCES = {
  prediction: 'failure forest',
  rule: 'alarm rule',
  anomaly: 'health model',
  machine: 'reported by the machine',
};

/** "failure forest", "alarm rule", "health model", "reported by the machine"; null for none known. */
export function alertSourceLabel(source) {
  return ALERT_SOURCES[source] ?? null;
}

/**
 * What raised the alert, with the failure probability where a model gave one:
 * "failure forest · 85 % failure probability". An alert of no known source (an older frame) says
 * its probability, or "alarm rule" without one, as the banner always did.
 */
export function alertOrigin(alert) {
  const hasProbability = alert.probability !== null && alert.probability !== undefined;
  const label = alertSourceLabel(alert.source);
  if (alert.source === 'prediction') {
    return hasProbability ? `${label} · ${percent(alert.probability)} failure probability` : label;
  }
  if (label) return label;
  return hasProbability ? `${percent(alert.probability)} failure probability` : ALERT_SOURCES.rule;
}
