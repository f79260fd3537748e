import { QueryClient } from '@tanstack/react-query';

export function createQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // What the websockets push is refetched on their events; this only spares repeat requests
        // while one page hands over to the next.
        staleTime: 10_000,
        retry: (failures, error) => failures < 2 && !(error?.status >= 400 && error?.status < 500),
        refetchOnWindowFocus: false,
        // Fetch even when the browser says it is offline: the service worker answers from its
        // cache what an earlier visit loaded (frontend/public/sw.js), so the tablet still reads it.
        networkMode: 'offlineFirst',
      },
    },
  });
}
