import { screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeServer } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import PlantOverview from './PlantOverview.jsx';

const machine = (code) => ({
  code,
  name: `Machine ${code}`,
  machine_type: 'compressor',
  line: 'Line A',
  status: 'running',
  status_changed_at: new Date().toISOString(),
  metrics: [],
});
const prediction = (failure_probability) => ({ failure_probability, rul_hours: 100, rul_low_hours: null, rul_high_hours: null });

describe('PlantOverview', () => {
  beforeEach(() => {
    fakeServer({
      'GET /api/machines/': () => ({ results: [machine('M-001'), machine('M-002'), machine('M-003')] }),
      'GET /api/predictions/latest/': () => ({
        threshold: 0.8,
        machines: [
          {
            machine: 'M-001',
            prediction: prediction(0.1),
            sensor_warning: null,
            health: { state: 'ready', learned_days: 4, required_days: 3, score: 42, departures: [] },
          },
          {
            machine: 'M-002',
            prediction: prediction(0.2),
            sensor_warning: null,
            health: { state: 'learning', learned_days: 2.7, required_days: 3, score: null, departures: [] },
          },
          { machine: 'M-003', prediction: prediction(0.3), sensor_warning: null, health: null },
        ],
      }),
    });
  });

  it("puts each machine's health model on its card: the score, the learning, or nothing", async () => {
    const { container } = renderWithApp(<PlantOverview />);
    await screen.findByText('health 42 · below its normal');
    const card = (code) => container.querySelector(`a.machine-card[data-machine="${code}"]`);
    expect(within(card('M-001')).getByText('10 %')).toBeTruthy();
    expect(within(card('M-002')).getByText('learning normal behaviour: 2 of 3 days')).toBeTruthy();
    expect(card('M-003').querySelector('.health-score')).toBeNull();
    expect(card('M-001').dataset.health).toBe('running');
  });
});
