// A machine's health as the plant grid colours it: what the machine says (down, maintenance,
// degraded) first, then what the models predict.
export const HEALTH = {
  down: { label: 'Down', rank: 0 },
  predicted: { label: 'Predicted failure', rank: 1 },
  degraded: { label: 'Degraded', rank: 2 },
  maintenance: { label: 'Maintenance', rank: 3 },
  running: { label: 'Running', rank: 4 },
  unknown: { label: 'Unknown', rank: 5 },
};

export function machineHealth(machine, { prediction, threshold, alert } = {}) {
  if (machine.status === 'down') return 'down';
  if (machine.status === 'maintenance') return 'maintenance';
  const atRisk = Boolean(alert) || (prediction && threshold !== undefined && prediction.failure_probability >= threshold);
  if (atRisk) return 'predicted';
  if (machine.status === 'degraded') return 'degraded';
  if (machine.status === 'running') return 'running';
  return 'unknown';
}

export const SORTS = {
  health: { label: 'Health', compare: (a, b) => HEALTH[a.health].rank - HEALTH[b.health].rank },
  probability: {
    label: 'Failure probability',
    compare: (a, b) => (b.prediction?.failure_probability ?? -1) - (a.prediction?.failure_probability ?? -1),
  },
  rul: {
    label: 'Remaining life',
    compare: (a, b) => (a.prediction?.rul_hours ?? Infinity) - (b.prediction?.rul_hours ?? Infinity),
  },
  code: { label: 'Machine', compare: () => 0 },
};

export function sortMachines(rows, sortKey) {
  const compare = SORTS[sortKey]?.compare ?? SORTS.health.compare;
  return [...rows].sort((a, b) => compare(a, b) || a.machine.code.localeCompare(b.machine.code));
}

/** Where a reading stands against its metric's limits: "alarm", "warning" (outside normal) or "normal". */
export function readingLevel(spec, value) {
  if (!spec || value === null || value === undefined) return 'normal';
  const beyond = (limit, compare) => limit !== null && limit !== undefined && compare(value, limit);
  if (beyond(spec.alarm_max, (v, l) => v >= l) || beyond(spec.alarm_min, (v, l) => v <= l)) return 'alarm';
  if (beyond(spec.normal_max, (v, l) => v > l) || beyond(spec.normal_min, (v, l) => v < l)) return 'warning';
  return 'normal';
}

// The machine's own health model, learned from its normal data: a score of 0-100, 100 the
// machine's usual self, 50 exactly its alarm threshold (below it, the machine departs from normal).
export const HEALTH_SCORE_ALARM = 50;

/** The score as shown, whole: 87.5 is "87" (rounding up could lift 49.6 to the threshold). */
export function healthScoreValue(score) {
  return score === null || score === undefined ? null : Math.floor(score);
}

export function healthScoreLow(score) {
  return score !== null && score !== undefined && score < HEALTH_SCORE_ALARM;
}

const wholeOrOne = (value) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

/** "learning normal behaviour: 1 of 3 days": whole days learned, floored. */
export function learningProgress(health) {
  const learned = Math.floor(health.learned_days ?? 0);
  const required = health.required_days ?? 0;
  return `learning normal behaviour: ${learned} of ${wholeOrOne(required)} day${required === 1 ? '' : 's'}`;
}
