import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { dateTime } from '../../../lib/format.js';
import { LatestHealth } from './PredictionPanel.jsx';

function health(overrides = {}) {
  return {
    state: 'ready',
    learned_days: 5.2,
    required_days: 3.0,
    ready_since: '2026-03-05T00:00:00Z',
    last_relearned_at: '2026-03-08T02:00:00Z',
    score: 31.4,
    scored_at: '2026-03-09T10:00:00Z',
    departures: [
      'vibration 1 h mean 4.02 mm/s RMS above its normal 2.01 ± 0.05',
      'temperature 1 h mean 71.3 °C above its normal 64.0 ± 1.2',
    ],
    ...overrides,
  };
}

describe('LatestHealth', () => {
  it('shows the score, what departs from the normal, when it became ready and was last relearned', () => {
    const { container } = render(<LatestHealth health={health()} />);
    const score = container.querySelector('[data-health-score]');
    expect(score.textContent).toBe('31 of 100');
    expect(screen.getByText('below its normal (alarm under 50)')).toBeTruthy();
    expect(container.querySelector('.health--low')).not.toBeNull();
    const departures = [...container.querySelectorAll('.health__departures li')].map((li) => li.textContent);
    expect(departures).toEqual(health().departures);
    const meta = screen.getByText(/^Ready since/).textContent;
    expect(meta).toContain(`Ready since ${dateTime('2026-03-05T00:00:00Z')}`);
    expect(meta).toContain(`last relearned ${dateTime('2026-03-08T02:00:00Z')}`);
    expect(meta).toContain(`scored ${dateTime('2026-03-09T10:00:00Z')}`);
  });

  it('says a healthy score is within the normal, and a model never relearned', () => {
    const { container } = render(<LatestHealth health={health({ score: 87.5, departures: [], last_relearned_at: null })} />);
    expect(container.querySelector('[data-health-score]').textContent).toBe('87 of 100');
    expect(screen.getByText('within its normal (alarm under 50)')).toBeTruthy();
    expect(container.querySelector('.health--low')).toBeNull();
    expect(container.querySelector('.health__departures')).toBeNull();
    expect(screen.getByText(/not relearned yet/)).toBeTruthy();
  });

  it('shows how far a learning machine has come instead of a score', () => {
    const { container } = render(
      <LatestHealth health={health({ state: 'learning', learned_days: 1.6, score: null, ready_since: null, departures: [] })} />,
    );
    expect(screen.getByText('learning normal behaviour: 1 of 3 days')).toBeTruthy();
    const progress = screen.getByRole('progressbar', { name: 'Normal behaviour learned' });
    expect(Number(progress.getAttribute('value'))).toBe(1.6);
    expect(Number(progress.getAttribute('max'))).toBe(3);
    expect(container.querySelector('[data-health-score]')).toBeNull();
  });

  it('shows nothing for a machine without a health model', () => {
    const { container } = render(<LatestHealth health={null} />);
    expect(container.innerHTML).toBe('');
  });
});
