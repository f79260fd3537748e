import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

function canvasSupported() {
  try {
    return Boolean(document.createElement('canvas').getContext('2d'));
  } catch {
    return false;
  }
}

// Threshold lines (normal and alarm limits) drawn over the plot, each with its label.
function thresholdsPlugin(thresholds) {
  return {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const { left, width, top, height } = u.bbox;
          ctx.save();
          ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
          for (const threshold of thresholds) {
            const y = Math.round(u.valToPos(threshold.value, 'y', true));
            if (y < top || y > top + height) continue;
            ctx.strokeStyle = threshold.color;
            ctx.fillStyle = threshold.color;
            ctx.lineWidth = devicePixelRatio;
            ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
            // Labels at the right end, where the newest values are read against them.
            ctx.textAlign = 'right';
            ctx.fillText(threshold.label, left + width - 4 * devicePixelRatio, y - 4 * devicePixelRatio);
          }
          ctx.restore();
        },
      ],
    },
  };
}

function yRange(thresholds) {
  return (u, dataMin, dataMax) => {
    const values = [dataMin, dataMax, ...thresholds.map((t) => t.value)].filter(Number.isFinite);
    if (!values.length) return [0, 1];
    let low = Math.min(...values);
    let high = Math.max(...values);
    if (low === high) {
      low -= 1;
      high += 1;
    }
    const pad = (high - low) * 0.08;
    return [low - pad, high + pad];
  };
}

/**
 * A streaming time-series chart (uPlot, canvas). `data` is columnar: [ts seconds, ...one array per
 * series]. New data is handed to the same plot (setData), so a chart updated every second costs
 * one redraw, not a rebuild; the plot is only rebuilt when the series themselves change.
 */
export default function TimeSeriesChart({
  data,
  series,
  bands = [],
  thresholds = [],
  height = 220,
  legend = false,
  unit = '',
  label,
}) {
  const container = useRef(null);
  const plot = useRef(null);
  const [supported] = useState(canvasSupported);
  const signature = JSON.stringify({ series, bands, thresholds, height, unit, legend });

  useEffect(() => {
    if (!supported || !container.current) return undefined;
    const element = container.current;
    const options = {
      width: Math.max(element.clientWidth, 200),
      height,
      legend: { show: legend, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        y: { range: yRange(thresholds) },
      },
      axes: [
        { stroke: '#52606d', grid: { stroke: '#e4e7eb' }, ticks: { stroke: '#e4e7eb' } },
        {
          stroke: '#52606d',
          grid: { stroke: '#e4e7eb' },
          ticks: { stroke: '#e4e7eb' },
          size: 56,
          label: unit || undefined,
          labelSize: unit ? 18 : 0,
        },
      ],
      // Points only show where data is sparse (uPlot decides); filled, so they do not cut the line.
      series: [{}, ...series.map((s) => ({ spanGaps: false, points: { size: 4, width: 0, fill: s.stroke }, ...s }))],
      bands,
      plugins: thresholds.length ? [thresholdsPlugin(thresholds)] : [],
    };
    const chart = new uPlot(options, data, element);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(element.clientWidth, 200), height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // Rebuilt only when the chart's shape changes; data goes through setData below.
  }, [signature, supported]);

  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [data]);

  if (!supported) {
    return <p className="chart-fallback">Charts need a browser with canvas support.</p>;
  }
  return <div className="chart" ref={container} role="img" aria-label={label} data-points={data[0]?.length ?? 0} />;
}
