import { useState } from 'react';
import { dateTime } from '../../../lib/format.js';
import { STATUS_LABELS } from '../api/tickets.js';
import { useCommentOnTicket } from '../hooks/useTickets.js';

function describe(event) {
  if (event.kind === 'comment') return event.note;
  if (event.kind === 'photo_added') return event.note ? `Photo: ${event.note}` : 'Photo added';
  if (event.from_status || event.to_status) {
    const change = `${STATUS_LABELS[event.from_status] ?? 'new'} → ${STATUS_LABELS[event.to_status] ?? event.to_status}`;
    return event.note ? `${change}: ${event.note}` : change;
  }
  if (event.assignee) return `${event.note || 'Assigned'} (${event.assignee})`;
  return event.note || event.kind;
}

/** When it was done, and for what a tablet sent later, when the server received it. */
function When({ event }) {
  return (
    <span className="activity__when">
      {dateTime(event.at)}
      {event.received_at && <span className="activity__offline muted small">done offline · received {dateTime(event.received_at)}</span>}
      {event.queued && <span className="activity__offline activity__offline--waiting small">waiting to be sent</span>}
    </span>
  );
}

/** The ticket's audit trail, oldest first, and a comment box for those who may comment. */
export default function TicketActivity({ ticket }) {
  const comment = useCommentOnTicket(ticket.id);
  const [text, setText] = useState('');
  const mayComment = ticket.actions?.includes('comment');

  function submit(event) {
    event.preventDefault();
    comment.mutate(text.trim(), { onSuccess: () => setText('') });
  }

  return (
    <div className="activity">
      <ol className="activity__list">
        {ticket.events.map((event, index) => (
          <li
            key={`${event.at}-${index}`}
            className={`activity__item activity__item--${event.kind}${event.queued ? ' activity__item--queued' : ''}`}
          >
            <When event={event} />
            <span className="activity__who">{event.actor ?? 'MaintainX'}</span>
            <span className="activity__what">
              {describe(event)}
              {event.photo && (
                <a className="activity__photo" href={event.photo.image_url} target="_blank" rel="noopener">
                  <img src={event.photo.thumbnail_url} alt={event.note || 'Photo'} loading="lazy" />
                </a>
              )}
            </span>
          </li>
        ))}
      </ol>
      {mayComment && (
        <form className="comment-form" onSubmit={submit}>
          <label className="field">
            <span>Add a comment</span>
            <textarea rows={2} value={text} onChange={(event) => setText(event.target.value)} required />
          </label>
          {comment.isError && (
            <p className="form-error" role="alert">
              {comment.error.message}
            </p>
          )}
          <button type="submit" className="button" disabled={comment.isPending || !text.trim()}>
            {comment.isPending ? 'Sending…' : 'Comment'}
          </button>
        </form>
      )}
    </div>
  );
}
