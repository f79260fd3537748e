import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { csrfRoute, fakeServer, installFakePush, reply, uninstallFakePush } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import { applicationServerKey } from '../api/device-push.js';
import DevicePushControl from './DevicePushControl.jsx';

// A P-256 public key as the server's VAPID settings hold it: base64url, no padding, 65 bytes.
const VAPID_KEY = 'BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U';

function pushRoutes(overrides = {}) {
  return {
    ...csrfRoute,
    'GET /api/notifications/push/key/': () => ({ public_key: VAPID_KEY }),
    'POST /api/notifications/push/subscriptions/': (request) => reply(201, request.body),
    'DELETE /api/notifications/push/subscriptions/': () => reply(204),
    ...overrides,
  };
}

/** Waits until the control shows `expected` as this device's state. */
const stateShown = (expected) =>
  waitFor(() => expect(document.querySelector('[data-device-push]')?.dataset.devicePush).toBe(expected));

describe('DevicePushControl', () => {
  afterEach(uninstallFakePush);

  it('asks the permission, subscribes with the server key and hands the subscription to the server', async () => {
    const browser = installFakePush({ permission: 'default', answer: 'granted' });
    const server = fakeServer(pushRoutes());
    renderWithApp(<DevicePushControl />);

    await stateShown('disabled');
    await userEvent.click(screen.getByRole('button', { name: 'Enable notifications on this device' }));

    expect((await screen.findByText(/^Enabled: this device shows your notifications/)).textContent).toBeTruthy();
    expect(browser.Notification.requestPermission).toHaveBeenCalledTimes(1);
    const [options] = browser.pushManager.subscribe.mock.calls[0];
    expect(options.userVisibleOnly).toBe(true);
    expect(options.applicationServerKey).toEqual(applicationServerKey(VAPID_KEY));
    const post = server.requests.find((request) => request.method === 'POST');
    expect(post.path).toBe('/api/notifications/push/subscriptions/');
    expect(post.body).toEqual({
      endpoint: 'https://push.vendor.invalid/send/device-1',
      expirationTime: null,
      keys: { p256dh: 'BDevicePublicKey', auth: 'DeviceAuthSecret' },
    });
    expect(screen.getByRole('button', { name: 'Turn off on this device' })).toBeTruthy();
  });

  it('turns push off: the server forgets the endpoint, then the browser unsubscribes', async () => {
    const browser = installFakePush({ permission: 'granted', subscribed: true });
    const server = fakeServer(pushRoutes());
    renderWithApp(<DevicePushControl />);
    await stateShown('enabled');
    const subscription = browser.subscription();

    await userEvent.click(screen.getByRole('button', { name: 'Turn off on this device' }));

    await screen.findByRole('button', { name: 'Enable notifications on this device' });
    const deleted = server.requests.find((request) => request.method === 'DELETE');
    expect(deleted.body).toEqual({ endpoint: 'https://push.vendor.invalid/send/device-1' });
    expect(subscription.unsubscribe).toHaveBeenCalledTimes(1);
    expect(browser.subscription()).toBeNull();
  });

  it('says the browser blocks notifications, and offers no button that cannot work', async () => {
    installFakePush({ permission: 'denied' });
    fakeServer(pushRoutes());
    renderWithApp(<DevicePushControl />);

    await stateShown('blocked');
    expect(screen.getByRole('status').textContent).toMatch(/^Blocked by the browser/);
    expect(screen.queryByRole('button')).toBeNull();
  });

  it('becomes blocked when the user refuses at the prompt, with nothing subscribed', async () => {
    const browser = installFakePush({ permission: 'default', answer: 'denied' });
    const server = fakeServer(pushRoutes());
    renderWithApp(<DevicePushControl />);

    await userEvent.click(await screen.findByRole('button', { name: 'Enable notifications on this device' }));

    await stateShown('blocked');
    expect(browser.pushManager.subscribe).not.toHaveBeenCalled();
    expect(server.requests.filter((request) => request.method !== 'GET')).toEqual([]);
  });

  it('stays off and says so when the permission prompt is dismissed', async () => {
    const browser = installFakePush({ permission: 'default', answer: 'default' });
    fakeServer(pushRoutes());
    renderWithApp(<DevicePushControl />);

    await userEvent.click(await screen.findByRole('button', { name: 'Enable notifications on this device' }));

    expect((await screen.findByText(/The browser did not get an answer: try again\./)).textContent).toMatch(
      /^Not enabled on this device\./,
    );
    await stateShown('disabled');
    expect(browser.pushManager.subscribe).not.toHaveBeenCalled();
    expect(screen.getByRole('button', { name: 'Enable notifications on this device' }).disabled).toBe(false);
  });

  it('says it is not supported where the browser has no Push API', async () => {
    fakeServer(pushRoutes());
    renderWithApp(<DevicePushControl />);

    await stateShown('unsupported');
    expect(screen.getByRole('status').textContent).toMatch(/^Not supported here/);
    expect(screen.queryByRole('button')).toBeNull();
  });

  it('shows why push is not set up on the server and leaves the device unsubscribed', async () => {
    const browser = installFakePush({ permission: 'granted' });
    fakeServer(
      pushRoutes({
        'GET /api/notifications/push/key/': () =>
          reply(503, { detail: 'Web Push is not configured on this server (VAPID_PUBLIC_KEY is unset).' }),
      }),
    );
    renderWithApp(<DevicePushControl />);

    await userEvent.click(await screen.findByRole('button', { name: 'Enable notifications on this device' }));

    expect((await screen.findByRole('alert')).textContent).toBe(
      'Web Push is not configured on this server (VAPID_PUBLIC_KEY is unset).',
    );
    expect(browser.pushManager.subscribe).not.toHaveBeenCalled();
    await stateShown('disabled');
  });

  it('unsubscribes again when the server refuses the subscription, naming the field', async () => {
    const browser = installFakePush({ permission: 'granted' });
    fakeServer(
      pushRoutes({
        'POST /api/notifications/push/subscriptions/': () => reply(400, { endpoint: ['Enter a valid URL.'] }),
      }),
    );
    renderWithApp(<DevicePushControl />);

    await userEvent.click(await screen.findByRole('button', { name: 'Enable notifications on this device' }));

    expect((await screen.findByRole('alert')).textContent).toBe('endpoint: Enter a valid URL.');
    expect(browser.subscription()).toBeNull();
    await stateShown('disabled');
  });
});

describe('applicationServerKey', () => {
  it('decodes base64url without padding into the key bytes', () => {
    const key = applicationServerKey(VAPID_KEY);
    expect(key).toBeInstanceOf(Uint8Array);
    expect(key.length).toBe(65);
    expect(key[0]).toBe(0x04); // an uncompressed P-256 point
    expect(applicationServerKey('-_8')).toEqual(new Uint8Array([0xfb, 0xff]));
  });
});
