import { useState } from 'react';
import { dateTime } from '../../../lib/format.js';
import { useAddTicketPhoto } from '../hooks/useTickets.js';

// The pictures come from the API's views, which check the ticket's visibility; the browser sends
// the session cookie with an <img> of the same origin, as the API client does with fetch.

function photoLabel(photo) {
  return photo.caption || `Photo ${photo.id}`;
}

/** The full image over the page, closed by its button or a tap beside it. */
function PhotoViewer({ photo, onClose }) {
  return (
    <div
      className="photo-viewer"
      role="dialog"
      aria-modal="true"
      aria-label={photoLabel(photo)}
      onClick={(event) => event.target === event.currentTarget && onClose()}
      onKeyDown={(event) => event.key === 'Escape' && onClose()}
    >
      <figure className="photo-viewer__figure">
        <img src={photo.image_url} alt={photoLabel(photo)} />
        <figcaption>
          {photo.caption && <strong>{photo.caption} </strong>}
          <span className="muted">
            {photo.uploaded_by ?? 'someone'} · {dateTime(photo.added_at)} · {photo.width} × {photo.height}
          </span>
        </figcaption>
      </figure>
      <div className="photo-viewer__actions">
        <a className="button button--light" href={photo.image_url} target="_blank" rel="noopener">
          Open full size
        </a>
        <button type="button" className="button button--light" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </div>
  );
}

/**
 * The ticket's photos as thumbnails, each opening the full image, and, for its assignee and the
 * supervisors, a button that opens the tablet's camera (or the file picker on a desktop).
 */
export default function TicketPhotos({ ticket }) {
  const photos = ticket.photos ?? [];
  const mayAdd = ticket.actions?.includes('add_photo');
  const add = useAddTicketPhoto(ticket.id);
  const [caption, setCaption] = useState('');
  const [shown, setShown] = useState(null);

  function upload(event) {
    const input = event.target;
    const file = input.files?.[0];
    if (!file) return;
    add.mutate(
      { file, caption: caption.trim() },
      {
        onSuccess: () => setCaption(''),
        // The same file may be chosen again after a refusal (or a retry).
        onSettled: () => {
          input.value = '';
        },
      },
    );
  }

  return (
    <div className="photos">
      {photos.length > 0 ? (
        <ul className="photos__grid" aria-label="Photos">
          {photos.map((photo) => (
            <li key={photo.id} className="photos__item">
              <button type="button" className="photos__open" onClick={() => setShown(photo)}>
                <img src={photo.thumbnail_url} alt={photoLabel(photo)} loading="lazy" />
              </button>
              <span className="photos__meta">
                {photo.caption && <span className="photos__caption">{photo.caption}</span>}
                <span className="muted">
                  {photo.uploaded_by ?? 'someone'} · {dateTime(photo.added_at)}
                </span>
              </span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No photos yet.</p>
      )}
      {mayAdd && (
        <div className="photos__add">
          <label className="field">
            <span>Caption (optional)</span>
            <input
              type="text"
              value={caption}
              maxLength={500}
              placeholder="What it shows"
              onChange={(event) => setCaption(event.target.value)}
            />
          </label>
          <label className={`button button--primary photos__take${add.isPending ? ' is-busy' : ''}`}>
            {add.isPending ? 'Uploading…' : 'Add a photo'}
            <input
              className="photos__input"
              type="file"
              accept="image/*"
              capture="environment"
              onChange={upload}
              disabled={add.isPending}
            />
          </label>
          {add.isError && (
            <p className="form-error" role="alert">
              {add.error.message}
            </p>
          )}
        </div>
      )}
      {shown && <PhotoViewer photo={shown} onClose={() => setShown(null)} />}
    </div>
  );
}
