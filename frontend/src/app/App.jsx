import { QueryClientProvider } from '@tanstack/react-query';
import { useState } from 'react';
import { createBrowserRouter, RouterProvider } from 'react-router';
import LoginPage from '../features/auth/components/LoginPage.jsx';
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

export default function App() {
  const [queryClient] = useState(createQueryClient);
  const [router] = useState(() => createBrowserRouter(routes));
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
