import { HEALTH } from '../hooks/health.js';

export default function HealthBadge({ health }) {
  return <span className={`badge badge--${health}`}>{HEALTH[health]?.label ?? health}</span>;
}
