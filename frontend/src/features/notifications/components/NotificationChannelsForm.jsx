import { useState } from 'react';
import { QueryState } from '../../../components/States.jsx';
import { useNotificationChannels, useSaveNotificationChannels } from '../hooks/useNotifications.js';

export const CHANNELS = [
  { name: 'push', label: 'Push', help: 'On the devices where you enabled notifications, even with MaintainX closed' },
  { name: 'email', label: 'Email', help: 'To the address of your account' },
  {
    name: 'in_app',
    label: 'In the dashboard',
    // The list keeps every notification either way; this is about being told at once.
    help: 'At once on the bell, and as a browser notification while the tab is in the background',
  },
];

function ChannelsForm({ saved }) {
  // The form keeps the user's choice while saving and after a refusal: nothing ticked is lost.
  const [choice, setChoice] = useState(saved);
  const save = useSaveNotificationChannels();
  const fieldErrors = save.error?.status === 400 && save.error.body ? save.error.body : {};
  const changed = CHANNELS.some(({ name }) => choice[name] !== saved[name]);

  function submit(event) {
    event.preventDefault();
    save.mutate(choice);
  }

  return (
    <form className="channels" aria-label="Notification channels" onSubmit={submit} noValidate>
      <fieldset className="channels__list">
        <legend>Tell me about my tickets by</legend>
        {CHANNELS.map(({ name, label, help }) => {
          const error = fieldErrors[name];
          return (
            <div key={name} className="channels__item">
              <label className="field--inline">
                <input
                  type="checkbox"
                  name={name}
                  checked={Boolean(choice[name])}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={`channel-${name}-help`}
                  onChange={(event) => setChoice({ ...choice, [name]: event.target.checked })}
                />
                <strong>{label}</strong>
              </label>
              <span id={`channel-${name}-help`} className="muted small">
                {error ? <span className="field-error">{[error].flat().join(' ')}</span> : help}
              </span>
            </div>
          );
        })}
      </fieldset>
      {save.isError && (
        <p className="form-error" role="alert">
          {save.error.message}
        </p>
      )}
      {save.isSuccess && !changed && (
        <p className="notice" role="status">
          Saved.
        </p>
      )}
      <div>
        <button type="submit" className="button button--primary" disabled={save.isPending || !changed}>
          {save.isPending ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}

/** The user's choice of channels, from their profile. */
export default function NotificationChannelsForm() {
  const channels = useNotificationChannels();
  return (
    <QueryState query={channels} loading="Loading your channels…" errorTitle="Could not load your channels">
      {(saved) => <ChannelsForm saved={saved} />}
    </QueryState>
  );
}
