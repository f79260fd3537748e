import { cleanup } from '@testing-library/react';
// IndexedDB, in memory, for the offline action queue (lib/offline): jsdom has none.
import 'fake-indexeddb/auto';
import { afterEach } from 'vitest';

// jsdom draws nothing: say so the way a browser without canvas would (getContext gives null), so
// charts show their fallback instead of jsdom printing "not implemented" for every one of them.
HTMLCanvasElement.prototype.getContext = () => null;
// uPlot reads the pixel ratio through matchMedia when it loads; jsdom has none.
window.matchMedia ??= (query) => ({
  matches: false,
  media: query,
  addEventListener() {},
  removeEventListener() {},
  addListener() {},
  removeListener() {},
});

afterEach(() => {
  cleanup();
  window.localStorage.clear();
});
