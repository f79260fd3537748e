import { createContext, useCallback, useContext, useEffect } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { useLiveSocket } from '../lib/live-socket.js';
import { alertEventApply, alertsCatchUp } from '../features/alerts/hooks/useAlerts.js';
import { ME_KEY } from '../features/auth/hooks/useCurrentUser.js';
import { machineEventApply, machinesCatchUp } from '../features/machines/hooks/plantEvents.js';
import { notificationEventApply, notificationsCatchUp } from '../features/notifications/hooks/useNotifications.js';
import { reportKeys } from '../features/reports/hooks/useReport.js';
import { ticketEventApply, ticketsCatchUp } from '../features/tickets/hooks/useTickets.js';

const PlantSocketContext = createContext({ status: 'connecting', detail: null });

export const usePlantSocket = () => useContext(PlantSocketContext);

/**
 * The one /ws/plant/ socket of the app: machine status and live values, alerts, tickets, and the
 * user's own events, each handed to its feature. After a reconnect every feature fetches what
 * changed while it was down.
 */
export function PlantEventsProvider({ children }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();

  const onMessage = useCallback(
    (frame) => {
      switch (frame.type) {
        case 'telemetry':
        case 'machine':
        case 'predictions':
          machineEventApply(queryClient, frame);
          break;
        case 'alert':
          alertEventApply(queryClient, frame);
          break;
        case 'ticket':
          ticketEventApply(queryClient, frame);
          break;
        case 'notification.created':
          notificationEventApply(queryClient, frame, { open: navigate });
          return;
        default:
          return; // a kind of frame this version does not show
      }
      if (frame.type === 'machine' || frame.type === 'ticket') {
        // Breakdowns start and end with these; a report on screen follows.
        queryClient.invalidateQueries({ queryKey: reportKeys.all });
      }
    },
    [queryClient, navigate],
  );

  const onReconnect = useCallback(
    async (since) => {
      await Promise.allSettled([
        alertsCatchUp(queryClient, since),
        ticketsCatchUp(queryClient, since),
        machinesCatchUp(queryClient),
        notificationsCatchUp(queryClient),
        queryClient.invalidateQueries({ queryKey: reportKeys.all }),
      ]);
    },
    [queryClient],
  );

  const socket = useLiveSocket('/ws/plant/', { onMessage, onReconnect });
  const signedOut = socket.status === 'refused' && socket.detail === 'signed-out';
  useEffect(() => {
    // The session ended elsewhere (signed out in another tab, expired): back to the login.
    if (signedOut) queryClient.invalidateQueries({ queryKey: ME_KEY });
  }, [signedOut, queryClient]);
  return <PlantSocketContext.Provider value={socket}>{children}</PlantSocketContext.Provider>;
}
