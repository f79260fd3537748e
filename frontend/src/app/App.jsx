import { QueryClientProvider } from '@tanstack/react-query';
import { useState } from 'react';
import { createBrowserRouter, RouterProvider } from 'react-router';
import LoginPage from '../features/auth/components/LoginPage.jsx';
import { ME_KEY } from '../features/auth/hooks/useCurrentUser.js';
import { sendTicketAction } from '../features/tickets/api/offline-actions.js';
import { ticketKeys } from '../features/tickets/hooks/useTickets.js';
import { serverNow } from '../lib/api-client.js';
import { OfflineQueueProvider } from '../lib/offline/OfflineQueueProvider.jsx';
import { createActionQueue } from '../lib/offline/queue.js';
import { openActionStore } from '../lib/offline/store.js';
import { createQueryClient } from '../lib/query-client.js';
import {
  AuthenticatedLayout,
  HomeRoute,
  MachineRoute,
  NotFound,
  NotificationsRoute,
  ProfileRoute,
  ReportsRoute,
  RouteError,
  TicketRoute,
  TicketsRoute,
} from './routes.jsx';

export const routes = [
  { path: '/login', element: <LoginPage />, errorElement: <RouteError /> },
  {
    element: <AuthenticatedLayout />,
    errorElement: <RouteError />,
    children: [
      { index: true, element: <HomeRoute /> },
      { path: 'machines/:code', element: <MachineRoute /> },
      { path: 'tickets', element: <TicketsRoute /> },
      { path: 'tickets/:id', element: <TicketRoute /> },
      { path: 'reports', element: <ReportsRoute /> },
      { path: 'notifications', element: <NotificationsRoute /> },
      { path: 'profile', element: <ProfileRoute /> },
      { path: '*', element: <NotFound /> },
    ],
  },
];

/** The technician's offline actions: kept in IndexedDB, sent with the time on the server's clock
 * (the tablet's own may be off), and each one sent refreshes what shows tickets. */
function createTicketActionQueue(queryClient) {
  return createActionQueue({
    store: openActionStore(),
    send: sendTicketAction,
    now: serverNow,
    owner: () => queryClient.getQueryData(ME_KEY)?.username ?? null,
    onSent: () => queryClient.invalidateQueries({ queryKey: ticketKeys.all }),
  });
}

export default function App() {
  const [queryClient] = useState(createQueryClient);
  const [router] = useState(() => createBrowserRouter(routes));
  const [queue] = useState(() => createTicketActionQueue(queryClient));
  return (
    <QueryClientProvider client={queryClient}>
      <OfflineQueueProvider queue={queue}>
        <RouterProvider router={router} />
      </OfflineQueueProvider>
    </QueryClientProvider>
  );
}
