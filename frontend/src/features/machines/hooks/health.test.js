import { describe, expect, it } from 'vitest';
import { healthScoreLow, healthScoreValue, learningProgress, machineHealth, readingLevel, sortMachines } from './health.js';

const machine = (code, status = 'running') => ({ code, status });
const prediction = (failure_probability, rul_hours = null) => ({ failure_probability, rul_hours });

describe('machineHealth', () => {
  it('takes what the machine says first: down and maintenance win over any prediction', () => {
    expect(machineHealth(machine('M-1', 'down'), { prediction: prediction(0.99), threshold: 0.8 })).toBe('down');
    expect(machineHealth(machine('M-1', 'maintenance'), { alert: { id: 1 } })).toBe('maintenance');
  });

  it('is a predicted failure from the threshold up, or while an alert is open', () => {
    expect(machineHealth(machine('M-1'), { prediction: prediction(0.8), threshold: 0.8 })).toBe('predicted');
    expect(machineHealth(machine('M-1'), { prediction: prediction(0.79), threshold: 0.8 })).toBe('running');
    expect(machineHealth(machine('M-1', 'degraded'), { alert: { id: 1 } })).toBe('predicted');
    expect(machineHealth(machine('M-1', 'degraded'), {})).toBe('degraded');
  });
});

describe('sortMachines', () => {
  const rows = [
    { machine: machine('M-3'), health: 'running', prediction: prediction(0.2, 300) },
    { machine: machine('M-1'), health: 'predicted', prediction: prediction(0.9, 5) },
    { machine: machine('M-2'), health: 'down', prediction: null },
    { machine: machine('M-4'), health: 'running', prediction: prediction(0.4, 40) },
  ];
  const codes = (sorted) => sorted.map((row) => row.machine.code);

  it('puts the machines that need attention first', () => {
    expect(codes(sortMachines(rows, 'health'))).toEqual(['M-2', 'M-1', 'M-3', 'M-4']);
  });

  it('sorts by failure probability, highest first, and by remaining life, shortest first', () => {
    expect(codes(sortMachines(rows, 'probability'))).toEqual(['M-1', 'M-4', 'M-3', 'M-2']);
    expect(codes(sortMachines(rows, 'rul'))).toEqual(['M-1', 'M-4', 'M-3', 'M-2']);
    expect(codes(sortMachines(rows, 'code'))).toEqual(['M-1', 'M-2', 'M-3', 'M-4']);
  });
});

describe('readingLevel', () => {
  const temperature = { normal_min: 10, normal_max: 80, alarm_min: null, alarm_max: 95 };

  it('tells a reading inside the normal range, outside it, and at or past an alarm limit', () => {
    expect(readingLevel(temperature, 60)).toBe('normal');
    expect(readingLevel(temperature, 85)).toBe('warning');
    expect(readingLevel(temperature, 5)).toBe('warning');
    expect(readingLevel(temperature, 95)).toBe('alarm');
    expect(readingLevel(undefined, 95)).toBe('normal');
  });
});

describe('the health model', () => {
  it('shows the score whole, floored, and calls it low only below 50', () => {
    expect(healthScoreValue(87.5)).toBe(87);
    expect(healthScoreValue(49.6)).toBe(49);
    expect(healthScoreValue(null)).toBeNull();
    expect(healthScoreLow(49.9)).toBe(true);
    expect(healthScoreLow(50)).toBe(false);
    expect(healthScoreLow(null)).toBe(false);
  });

  it('says how far a machine has learned its normal, in whole days', () => {
    expect(learningProgress({ learned_days: 1.6, required_days: 3.0 })).toBe('learning normal behaviour: 1 of 3 days');
    expect(learningProgress({ learned_days: 0.2, required_days: 3 })).toBe('learning normal behaviour: 0 of 3 days');
    expect(learningProgress({ learned_days: 0.9, required_days: 1 })).toBe('learning normal behaviour: 0 of 1 day');
    expect(learningProgress({ learned_days: 2, required_days: 2.5 })).toBe('learning normal behaviour: 2 of 2.5 days');
  });
});
