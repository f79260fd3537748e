const LABELS = {
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
};
const REFUSED = {
  'signed-out': 'Signed out',
  'no-role': 'No access',
  'not-found': 'Unknown machine',
};

/** The state of a websocket, in words: live, connecting, reconnecting… or refused. */
export default function ConnectionStatus({ status, detail }) {
  const label = status === 'refused' ? (REFUSED[detail] ?? 'Refused') : (LABELS[status] ?? status);
  return (
    <span className={`connection connection--${status}`} role="status" aria-live="polite" data-connection={status}>
      <span className="connection__dot" aria-hidden="true" />
      {label}
    </span>
  );
}
