/**
 * Horizontal stacked bars for a handful of categories (days, machines): plain markup, so the numbers
 * stay readable and selectable and it prints well.
 */
export default function BarChart({ rows, parts, label, unit = '' }) {
  const max = Math.max(1, ...rows.map((row) => parts.reduce((sum, part) => sum + (row.values[part.key] ?? 0), 0)));
  return (
    <figure className="bar-chart" aria-label={label}>
      <div className="bar-chart__legend">
        {parts.map((part) => (
          <span key={part.key}>
            <span className={`swatch swatch--${part.key}`} aria-hidden="true" /> {part.label}
          </span>
        ))}
      </div>
      <ul className="bar-chart__rows">
        {rows.map((row) => {
          const total = parts.reduce((sum, part) => sum + (row.values[part.key] ?? 0), 0);
          return (
            <li key={row.key} className="bar-chart__row">
              <span className="bar-chart__label">{row.label}</span>
              <span className="bar-chart__track">
                {parts.map((part) =>
                  row.values[part.key] ? (
                    <span
                      key={part.key}
                      className={`bar-chart__bar swatch--${part.key}`}
                      style={{ width: `${(row.values[part.key] / max) * 100}%` }}
                      title={`${part.label}: ${row.values[part.key]}${unit}`}
                    />
                  ) : null,
                )}
              </span>
              <span className="bar-chart__total">
                {Number.isInteger(total) ? total : total.toFixed(1)}
                {unit}
              </span>
            </li>
          );
        })}
      </ul>
    </figure>
  );
}
