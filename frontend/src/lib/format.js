// Numbers and times as the dashboard shows them; one place so every page says them the same way.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const monthFormat = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric' });

export function percent(probability) {
  if (probability === null || probability === undefined) return '–';
  return `${Math.round(probability * 100)} %`;
}

export function hours(value, { digits = 1 } = {}) {
  if (value === null || value === undefined) return '–';
  if (value >= 48) return `${(value / 24).toFixed(1)} d`;
  return `${value.toFixed(digits)} h`;
}

export function rulRange(rul) {
  if (!rul || rul.hours === null || rul.hours === undefined) return '–';
  const { hours: mid, low_hours: low, high_hours: high } = rul;
  if (low === null || low === undefined || high === null || high === undefined) return hours(mid);
  return `${hours(mid)} (${hours(low)}–${hours(high)})`;
}

export function clockTime(value) {
  return value ? timeFormat.format(new Date(value)) : '–';
}

export function dateTime(value) {
  return value ? dateTimeFormat.format(new Date(value)) : '–';
}

export function day(value) {
  // A plain date (YYYY-MM-DD) is a calendar day, not midnight UTC.
  return value ? dayFormat.format(new Date(`${value}T00:00:00`)) : '–';
}

export function month(value) {
  // A month's first day (YYYY-MM-DD), as "March 2026".
  return value ? monthFormat.format(new Date(`${value}T00:00:00`)) : '–';
}

export function since(value, now = Date.now()) {
  if (!value) return '–';
  const seconds = Math.max(0, Math.round((now - new Date(value).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function number(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  return value.toFixed(digits);
}

export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
