import { Loading } from '../../../components/States.jsx';
import { DEVICE_PUSH } from '../api/device-push.js';
import { useDevicePush } from '../hooks/useNotifications.js';

const STATE_TEXT = {
  [DEVICE_PUSH.ENABLED]: 'Enabled: this device shows your notifications, even with MaintainX closed.',
  [DEVICE_PUSH.DISABLED]: 'Not enabled on this device.',
  [DEVICE_PUSH.BLOCKED]:
    'Blocked by the browser: allow notifications for this site in the browser’s settings, then reload the page.',
  [DEVICE_PUSH.UNSUPPORTED]:
    'Not supported here: this browser (or a page not served over HTTPS) cannot receive push notifications.',
};

/** "Enable notifications on this device": the browser's permission and a push subscription. */
export default function DevicePushControl() {
  const { state, enable, disable } = useDevicePush();
  if (state.isPending) return <Loading label="Checking this device…" />;
  const current = state.data ?? DEVICE_PUSH.UNSUPPORTED;
  const busy = enable.isPending || disable.isPending;
  const error = enable.error ?? disable.error ?? state.error;
  const dismissed = enable.isSuccess && enable.data === DEVICE_PUSH.DISABLED;
  return (
    <div className="device-push" data-device-push={current}>
      <p className={current === DEVICE_PUSH.ENABLED ? 'notice notice--ok' : 'notice'} role="status">
        {STATE_TEXT[current]}
        {dismissed && current === DEVICE_PUSH.DISABLED && ' The browser did not get an answer: try again.'}
      </p>
      {error && (
        <p className="form-error" role="alert">
          {error.message}
        </p>
      )}
      {current === DEVICE_PUSH.DISABLED && (
        <button type="button" className="button button--primary" disabled={busy} onClick={() => enable.mutate()}>
          {enable.isPending ? 'Enabling…' : 'Enable notifications on this device'}
        </button>
      )}
      {current === DEVICE_PUSH.ENABLED && (
        <button type="button" className="button" disabled={busy} onClick={() => disable.mutate()}>
          {disable.isPending ? 'Turning off…' : 'Turn off on this device'}
        </button>
      )}
    </div>
  );
}
