import { describe, expect, it, vi } from 'vitest';
import { forgetOfflineData, registerServiceWorker } from './service-worker.js';

describe('registerServiceWorker', () => {
  it('registers /sw.js for the whole site', async () => {
    const registration = { scope: '/' };
    const container = { register: vi.fn().mockResolvedValue(registration) };
    await expect(registerServiceWorker(container)).resolves.toBe(registration);
    expect(container.register).toHaveBeenCalledWith('/sw.js', { scope: '/' });
  });

  it('is null where the browser has no service workers', async () => {
    await expect(registerServiceWorker(undefined)).resolves.toBeNull();
  });

  it('is null, with a warning, when the registration fails', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const container = { register: vi.fn().mockRejectedValue(new Error('insecure origin')) };
    await expect(registerServiceWorker(container)).resolves.toBeNull();
    expect(warn).toHaveBeenCalled();
  });
});

describe('forgetOfflineData', () => {
  it('asks the controlling worker to drop the kept API answers', () => {
    const controller = { postMessage: vi.fn() };
    forgetOfflineData({ controller });
    expect(controller.postMessage).toHaveBeenCalledWith({ type: 'forget-offline-data' });
  });

  it('does nothing where no worker controls the page', () => {
    expect(() => forgetOfflineData({ controller: null })).not.toThrow();
    expect(() => forgetOfflineData(undefined)).not.toThrow();
  });
});
