import { api, apiUrl } from '../../../lib/api-client.js';

export const fetchReport = ({ from, to }) => api.get('/api/reports/summary/', { from, to });

/** The same figures as a CSV download; the browser sends the session cookie with the link. */
export const reportCsvUrl = ({ from, to }) => apiUrl('/api/reports/summary/', { from, to, format: 'csv' });

/** Precision, recall and lead time per month and source of alerts, the last `months` months. */
export const fetchPredictionQuality = ({ months }) => api.get('/api/reports/prediction-quality/', { months });
