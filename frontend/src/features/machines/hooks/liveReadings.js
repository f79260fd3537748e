import { useSyncExternalStore } from 'react';

// The newest reading of each machine from the plant socket's telemetry frames. Kept outside React
// Query: frames come several times a second, and each card re-renders only for its own machine.
const latest = new Map();
const listeners = new Map();

export function liveReadingsApply(readings) {
  for (const reading of readings) {
    const current = latest.get(reading.machine);
    if (current && current.ts >= reading.ts) continue;
    latest.set(reading.machine, reading);
    for (const listener of listeners.get(reading.machine) ?? []) listener();
  }
}

export function liveReadingsClear() {
  latest.clear();
}

function subscribe(code, listener) {
  if (!listeners.has(code)) listeners.set(code, new Set());
  listeners.get(code).add(listener);
  return () => listeners.get(code).delete(listener);
}

export function useLatestReading(code) {
  return useSyncExternalStore(
    (listener) => subscribe(code, listener),
    () => latest.get(code),
  );
}
