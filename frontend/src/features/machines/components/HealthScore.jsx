import { healthScoreLow, healthScoreValue, learningProgress } from '../hooks/health.js';

const classes = (...names) => names.filter(Boolean).join(' ');

/**
 * The health model's word on a machine, in one line: "health 87", "health 31 · below its normal"
 * (styled as a warning, and said in words too), or "learning normal behaviour: 1 of 3 days".
 * Nothing for a machine without a health model (`health` null).
 */
export default function HealthScore({ health, className }) {
  if (!health) return null;
  if (health.state === 'learning') {
    return (
      <span className={classes('health-score', 'health-score--learning', className)}>{learningProgress(health)}</span>
    );
  }
  const value = healthScoreValue(health.score);
  if (value === null) return <span className={classes('health-score', className)}>health not scored yet</span>;
  const low = healthScoreLow(health.score);
  return (
    <span className={classes('health-score', low && 'health-score--low', className)} data-health-score={value}>
      health {value}
      {low && ' · below its normal'}
    </span>
  );
}
