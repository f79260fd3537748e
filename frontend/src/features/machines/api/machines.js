import { api } from '../../../lib/api-client.js';

// A plant has tens to hundreds of machines: one page holds them all.
export async function fetchMachines() {
  const page = await api.get('/api/machines/', { limit: 1000 });
  return page.results;
}

export const fetchMachine = (code) => api.get(`/api/machines/${encodeURIComponent(code)}/`);

export const fetchReadings = (code, { from, to, points, metric } = {}, options = {}) =>
  api.get(`/api/machines/${encodeURIComponent(code)}/readings/`, { from, to, points, metric }, options);

export const fetchLatestPredictions = () => api.get('/api/predictions/latest/');

export async function fetchPredictions(code, { from, limit = 500 } = {}) {
  const page = await api.get('/api/predictions/', { machine: code, from, limit });
  return page.results;
}
