import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { csrfRoute, fakeServer, reply } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import TicketDetailPage from './TicketDetailPage.jsx';
import TicketPhotos from './TicketPhotos.jsx';

function photo(id, overrides = {}) {
  return {
    id,
    ticket: 12,
    caption: '',
    uploaded_by: 'tech2',
    added_at: '2026-11-27T09:20:00Z',
    received_at: '2026-11-27T09:20:01Z',
    content_type: 'image/jpeg',
    width: 1200,
    height: 1600,
    bytes: 412000,
    image_url: `/api/tickets/12/photos/${id}/image/`,
    thumbnail_url: `/api/tickets/12/photos/${id}/thumbnail/`,
    ...overrides,
  };
}

function ticket(overrides = {}) {
  return {
    id: 12,
    title: 'Bearing wear predicted on M-007',
    machine: 'M-007',
    machine_name: 'Coolant pump 7',
    error_code: 'E-BRG-01',
    status: 'in_progress',
    priority: 3,
    priority_display: 'High',
    assignee: { id: 5, username: 'tech2', full_name: 'Lena Fischer' },
    alert: null,
    outcome: '',
    found_failure_mode: '',
    predicted_failure_mode: 'bearing_wear',
    opened_at: '2026-11-27T09:00:00Z',
    started_at: '2026-11-27T09:05:00Z',
    resolved_at: null,
    updated_at: '2026-11-27T09:05:00Z',
    description: '',
    sop: null,
    probability: null,
    explanation: [],
    rul: null,
    evidence: {},
    resolution_notes: '',
    events: [],
    photos: [],
    actions: ['resolve', 'comment', 'add_photo'],
    ...overrides,
  };
}

const cameraShot = () => new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0])], 'IMG_0042.jpg', { type: 'image/jpeg' });

describe('TicketPhotos', () => {
  let server;
  let current;

  beforeEach(() => {
    current = ticket();
    server = fakeServer({
      ...csrfRoute,
      'GET /api/tickets/12/': () => current,
      'POST /api/tickets/12/photos/': (request) => {
        const added = photo(31, { caption: request.body.get('caption') ?? '' });
        current = ticket({
          photos: [added],
          events: [
            {
              at: added.added_at,
              kind: 'photo_added',
              actor: 'tech2',
              assignee: null,
              from_status: '',
              to_status: '',
              note: added.caption,
              photo: { id: 31, image_url: added.image_url, thumbnail_url: added.thumbnail_url },
            },
          ],
        });
        return reply(201, added);
      },
    });
  });

  it('lets the assignee take a photo with the camera and shows it in the ticket and its activity', async () => {
    renderWithApp(<TicketDetailPage id="12" />);
    expect(await screen.findByText('No photos yet.')).toBeTruthy();
    const input = screen.getByLabelText('Add a photo');
    // The tablet opens its rear camera; a desktop offers the file picker.
    expect(input.getAttribute('accept')).toBe('image/*');
    expect(input.getAttribute('capture')).toBe('environment');

    await userEvent.type(screen.getByLabelText(/Caption/), 'Grease at the seal');
    await userEvent.upload(input, cameraShot());

    const grid = await screen.findByRole('list', { name: 'Photos' });
    const thumbnail = within(grid).getByRole('img', { name: 'Grease at the seal' });
    expect(thumbnail.getAttribute('src')).toBe('/api/tickets/12/photos/31/thumbnail/');
    const post = server.requests.find((r) => r.method === 'POST');
    expect(post.body.get('image').name).toBe('IMG_0042.jpg');
    expect(post.body.get('caption')).toBe('Grease at the seal');
    expect(post.headers['X-CSRFToken']).toBe('test-token');
    // Multipart: the browser sets the type with its boundary, never JSON.
    expect(post.headers['Content-Type']).toBeUndefined();
    expect(screen.getByText('Photo: Grease at the seal')).toBeTruthy();
    expect(screen.getByLabelText(/Caption/).value).toBe('');
  });

  it('shows the reason the server refused the photo', async () => {
    server = fakeServer({
      ...csrfRoute,
      'POST /api/tickets/12/photos/': () =>
        reply(400, { image: ['This file is not a JPEG, PNG or WebP image (its content was checked, not its name).'] }),
    });
    renderWithApp(<TicketPhotos ticket={ticket()} />);

    await userEvent.upload(screen.getByLabelText('Add a photo'), cameraShot());

    expect((await screen.findByRole('alert')).textContent).toBe(
      'image: This file is not a JPEG, PNG or WebP image (its content was checked, not its name).',
    );
    expect(screen.getByLabelText('Add a photo').disabled).toBe(false);
  });

  it('opens the full image from its thumbnail and closes it again', async () => {
    renderWithApp(<TicketPhotos ticket={ticket({ photos: [photo(7, { caption: 'Cracked coupling' }), photo(8)] })} />);

    await userEvent.click(screen.getByRole('button', { name: 'Photo 8' }));

    const viewer = screen.getByRole('dialog', { name: 'Photo 8' });
    expect(within(viewer).getByRole('img').getAttribute('src')).toBe('/api/tickets/12/photos/8/image/');
    await userEvent.click(within(viewer).getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('offers no camera to those who may only look', () => {
    renderWithApp(<TicketPhotos ticket={ticket({ photos: [photo(7)], actions: [] })} />);

    expect(screen.getByRole('img', { name: 'Photo 7' })).toBeTruthy();
    expect(screen.queryByLabelText('Add a photo')).toBeNull();
  });
});
