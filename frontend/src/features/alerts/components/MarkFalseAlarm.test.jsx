import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { csrfRoute, fakeServer } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import { alertKeys } from '../hooks/useAlerts.js';
import MarkFalseAlarm from './MarkFalseAlarm.jsx';

// Acknowledged: off the red banner, still open on the machine's page, where this button also sits.
const ACKNOWLEDGED = {
  id: 11,
  machine: 'M-007',
  error_code: 'E-BRG-01',
  source: 'prediction',
  status: 'acknowledged',
  probability: 0.88,
  ticket: null,
};

describe('MarkFalseAlarm', () => {
  let server;

  beforeEach(() => {
    server = fakeServer({
      ...csrfRoute,
      'POST /api/alerts/11/mark-false/': (request) => ({
        ...ACKNOWLEDGED,
        status: 'cleared',
        marked_false_reason: request.body.reason,
      }),
    });
  });

  it('marks an acknowledged alert false and takes it out of the open alerts', async () => {
    const { queryClient } = renderWithApp(<MarkFalseAlarm alert={ACKNOWLEDGED} />);
    queryClient.setQueryData(alertKeys.open, [ACKNOWLEDGED]);

    await userEvent.click(screen.getByRole('button', { name: 'Mark as false alarm' }));
    const form = screen.getByRole('form', { name: 'Mark alert E-BRG-01 on M-007 as a false alarm' });
    await userEvent.type(within(form).getByLabelText('Why was it a false alarm?'), 'Vibration probe re-seated');
    await userEvent.click(within(form).getByRole('button', { name: 'Mark false' }));

    await waitFor(() => expect(queryClient.getQueryData(alertKeys.open)).toEqual([]));
    const post = server.requests.find((r) => r.method === 'POST');
    expect(post.body).toEqual({ reason: 'Vibration probe re-seated' });
    expect(post.path).toBe('/api/alerts/11/mark-false/');
  });
});
