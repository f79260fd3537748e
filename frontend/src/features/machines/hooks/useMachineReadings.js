import { useCallback, useMemo, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { serverNow } from '../../../lib/api-client.js';
import { useLiveSocket } from '../../../lib/live-socket.js';
import { fetchReadings } from '../api/machines.js';
import { machineKeys } from './useMachines.js';

export const RANGES = {
  live: { label: 'Live 15 min', seconds: 15 * 60, points: 450 },
  hour: { label: '1 h', seconds: 3600, points: 600 },
  day: { label: '24 h', seconds: 86400, points: 600 },
  week: { label: '7 d', seconds: 7 * 86400, points: 600 },
  month: { label: '30 d', seconds: 30 * 86400, points: 600 },
  year: { label: '1 y', seconds: 365 * 86400, points: 600 },
};

// The storage tier the server aggregated a history from (its `source`), as people say it.
const HISTORY_SOURCES = {
  readings: 'raw readings',
  minutes: 'per-minute roll-ups',
  hours: 'hourly roll-ups',
};

function bucketLabel(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** What a history was read from and how wide its buckets are, e.g. "hourly roll-ups, 1 d buckets". */
export function historySourceLabel(history) {
  if (!history) return '';
  const source = HISTORY_SOURCES[history.source] ?? history.source;
  return `${source}, ${bucketLabel(history.bucket_seconds)} buckets`;
}
// Live points kept in memory per metric: a day at 1 Hz, more than any range shows from live frames.
const LIVE_KEEP = 86_400;

function appendLive(buffer, ts, metrics) {
  for (const [metric, value] of Object.entries(metrics)) {
    if (!Number.isFinite(value)) continue;
    const series = buffer[metric] ?? (buffer[metric] = { ts: [], value: [] });
    const last = series.ts.length ? series.ts[series.ts.length - 1] : -Infinity;
    if (ts > last) {
      series.ts.push(ts);
      series.value.push(value);
    } else if (ts < last) {
      // A catch-up fills in the past: insert in order, once.
      const index = series.ts.findIndex((t) => t >= ts);
      if (series.ts[index] === ts) continue;
      series.ts.splice(index, 0, ts);
      series.value.splice(index, 0, value);
    }
    if (series.ts.length > LIVE_KEEP) {
      series.ts.splice(0, series.ts.length - LIVE_KEEP);
      series.value.splice(0, series.value.length - LIVE_KEEP);
    }
  }
}

// A silence shorter than this is drawn through: sensors that report once a minute (or a history
// written at that pace) are not a string of gaps.
const MIN_GAP_SECONDS = 150;

/** Null where readings stop for longer than three buckets (and MIN_GAP_SECONDS), so a silent machine shows as a gap. */
function withGaps(columns, bucketSeconds) {
  const [ts, ...rest] = columns;
  const maxGap = Math.max(3 * bucketSeconds, MIN_GAP_SECONDS);
  const out = [[], ...rest.map(() => [])];
  for (let i = 0; i < ts.length; i += 1) {
    if (i > 0 && ts[i] - ts[i - 1] > maxGap) {
      out[0].push((ts[i] + ts[i - 1]) / 2);
      rest.forEach((_, k) => out[k + 1].push(null));
    }
    out[0].push(ts[i]);
    rest.forEach((column, k) => out[k + 1].push(column[i]));
  }
  return out;
}

/**
 * A machine's charts: the range's history from the API (buckets of avg/min/max) with the live
 * frames of /ws/machines/<code>/ appended; after a reconnect the missed readings are fetched
 * (`from` = when the socket dropped) and merged in.
 */
export function useMachineReadings(code, rangeKey) {
  const range = RANGES[rangeKey] ?? RANGES.live;
  const live = useRef({});
  const [liveVersion, setLiveVersion] = useState(0);
  const [lastFrame, setLastFrame] = useState(null);

  const history = useQuery({
    queryKey: machineKeys.readings(code, rangeKey),
    queryFn: ({ signal }) => {
      const to = serverNow();
      const from = new Date(to.getTime() - range.seconds * 1000);
      return fetchReadings(code, { from: from.toISOString(), to: to.toISOString(), points: range.points }, { signal });
    },
    staleTime: 0,
  });

  const onMessage = useCallback((frame) => {
    const ts = Date.parse(frame.ts) / 1000;
    if (!Number.isFinite(ts)) return;
    appendLive(live.current, ts, frame.metrics ?? {});
    setLastFrame(frame);
    setLiveVersion((version) => version + 1);
  }, []);

  const onReconnect = useCallback(
    async (since) => {
      const to = serverNow();
      const seconds = Math.max(1, (to.getTime() - since.getTime()) / 1000);
      try {
        const missed = await fetchReadings(code, {
          from: since.toISOString(),
          to: to.toISOString(),
          points: Math.min(5000, Math.max(2, Math.ceil(seconds) + 1)),
        });
        for (const series of missed.series) {
          series.ts.forEach((t, i) => appendLive(live.current, t, { [series.metric]: series.avg[i] }));
        }
        setLiveVersion((version) => version + 1);
      } catch {
        // The next range change or page load fetches the history again; the live stream goes on.
      }
    },
    [code],
  );

  const socket = useLiveSocket(`/ws/machines/${encodeURIComponent(code)}/`, { onMessage, onReconnect });

  const charts = useMemo(() => {
    if (!history.data) return null;
    const nowS = serverNow().getTime() / 1000;
    const windowStart = nowS - range.seconds;
    const step = history.data.bucket_seconds;
    const byMetric = {};
    for (const series of history.data.series) {
      const ts = [];
      const avg = [];
      const min = [];
      const max = [];
      for (let i = 0; i < series.ts.length; i += 1) {
        if (series.ts[i] + step < windowStart) continue;
        ts.push(series.ts[i] + step / 2); // the middle of its bucket
        avg.push(series.avg[i]);
        min.push(series.min[i]);
        max.push(series.max[i]);
      }
      const historyEnd = series.ts.length ? series.ts[series.ts.length - 1] + step : windowStart;
      const points = live.current[series.metric];
      if (points) {
        for (let i = 0; i < points.ts.length; i += 1) {
          if (points.ts[i] < historyEnd || points.ts[i] < windowStart) continue;
          ts.push(points.ts[i]);
          avg.push(points.value[i]);
          min.push(points.value[i]);
          max.push(points.value[i]);
        }
      }
      byMetric[series.metric] = withGaps([ts, avg, min, max], step);
    }
    return byMetric;
    // liveVersion: the live buffer is a ref that changed.
  }, [history.data, liveVersion, range.seconds]);

  return { history, charts, socket, lastFrame };
}
