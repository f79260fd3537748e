import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { renderWithApp } from '../../../test/render.jsx';
import MachineCard from './MachineCard.jsx';

const MACHINE = {
  code: 'M-007',
  name: 'Air compressor 1',
  machine_type: 'compressor',
  line: 'Line A',
  status: 'running',
  status_changed_at: new Date().toISOString(),
  metrics: [],
};
const PREDICTION = { failure_probability: 0.12, rul_hours: 300, rul_low_hours: null, rul_high_hours: null };

function health(overrides = {}) {
  return {
    state: 'ready',
    learned_days: 3.4,
    required_days: 3.0,
    ready_since: '2026-03-05T00:00:00Z',
    last_relearned_at: null,
    score: 87.5,
    scored_at: '2026-03-09T10:00:00Z',
    departures: [],
    ...overrides,
  };
}

function renderCard(props = {}) {
  const { container } = renderWithApp(
    <MachineCard machine={MACHINE} health="running" prediction={PREDICTION} sensorWarning={null} alert={null} {...props} />,
  );
  return container.querySelector('a.machine-card');
}

describe('MachineCard', () => {
  it('shows the health score beside the failure risk', () => {
    const card = renderCard({ healthModel: health() });
    expect(screen.getByText('12 %')).toBeTruthy();
    const score = screen.getByText('health 87');
    expect(score.classList.contains('health-score--low')).toBe(false);
    expect(score.closest('div').textContent).toContain('Failure risk');
    expect(card.dataset.health).toBe('running'); // the grid's health state, not the score
  });

  it('marks a score below 50 as a warning, in words as well as in colour', () => {
    renderCard({ healthModel: health({ score: 31.2 }) });
    const score = screen.getByText('health 31 · below its normal');
    expect(score.classList.contains('health-score--low')).toBe(true);
  });

  it('says a machine still learning its normal, in whole days learned', () => {
    renderCard({ healthModel: health({ state: 'learning', learned_days: 1.6, score: null, ready_since: null }) });
    expect(screen.getByText('learning normal behaviour: 1 of 3 days')).toBeTruthy();
    expect(screen.queryByText(/^health /)).toBeNull();
  });

  it('shows nothing of a health model the machine does not have', () => {
    const card = renderCard({ healthModel: null });
    expect(card.querySelector('.health-score')).toBeNull();
    expect(screen.queryByText(/learning normal behaviour/)).toBeNull();
  });

  it("says what raised the machine's open alert, and keeps data-health for the grid's state", () => {
    const card = renderCard({
      health: 'predicted',
      alert: { id: 9, machine: 'M-007', error_code: 'E-INS-01', source: 'rule', status: 'acknowledged', probability: null },
    });
    expect(card.dataset.health).toBe('predicted');
    expect(card.querySelector('.machine-card__alert').textContent).toBe('E-INS-01 · alarm rule (acknowledged)');
  });
});
