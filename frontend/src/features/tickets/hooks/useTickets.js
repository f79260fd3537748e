import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  addTicketPhoto,
  changeTicketStatus,
  commentOnTicket,
  fetchTicket,
  fetchTickets,
  fetchTicketsChangedSince,
  takeTicket,
} from '../api/tickets.js';

export const ticketKeys = {
  all: ['tickets'],
  lists: ['tickets', 'list'],
  list: (params) => ['tickets', 'list', params],
  detail: (id) => ['tickets', 'detail', String(id)],
};

export function useTickets(params, { enabled = true } = {}) {
  return useQuery({ queryKey: ticketKeys.list(params), queryFn: () => fetchTickets(params), enabled });
}

export function useTicket(id) {
  return useQuery({ queryKey: ticketKeys.detail(id), queryFn: () => fetchTicket(id) });
}

function useTicketMutation(id, mutationFn) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: (result) => {
      if (result?.actions) queryClient.setQueryData(ticketKeys.detail(id), result);
      queryClient.invalidateQueries({ queryKey: ticketKeys.all });
    },
  });
}

export const useStartTicket = (id) => useTicketMutation(id, () => changeTicketStatus(id, { status: 'in_progress' }));

export const useResolveTicket = (id) =>
  useTicketMutation(id, ({ outcome, foundFailureMode, notes }) =>
    changeTicketStatus(id, { status: 'resolved', outcome, found_failure_mode: foundFailureMode, notes }),
  );

export const useCommentOnTicket = (id) => useTicketMutation(id, (text) => commentOnTicket(id, text));

/** `mutate({file, caption})`: the ticket is fetched again, with the photo in its list and its activity. */
export const useAddTicketPhoto = (id) => useTicketMutation(id, (photo) => addTicketPhoto(id, photo));

/** Take an unassigned ticket: `mutate(id)`, so that one list can offer it on every row. */
export function useTakeTicket() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: takeTicket,
    onSuccess: (ticket) => queryClient.setQueryData(ticketKeys.detail(ticket.id), ticket),
    // Taken or refused, the lists are out of date: a refusal means someone else has it now. The
    // ticket's own page keeps what it shows, so that the refusal stays readable there.
    onSettled: () => queryClient.invalidateQueries({ queryKey: ticketKeys.lists }),
  });
}

/** A ticket frame from the plant socket (or the user's own group): refetch what shows tickets. */
export function ticketEventApply(queryClient, frame) {
  if (frame.type !== 'ticket') return false;
  queryClient.invalidateQueries({ queryKey: ticketKeys.all });
  return true;
}

/** After a reconnect: ask what changed while the socket was down, refetch only if something did. */
export async function ticketsCatchUp(queryClient, since) {
  const changed = await fetchTicketsChangedSince(since);
  if (changed.length) await queryClient.invalidateQueries({ queryKey: ticketKeys.all });
  return changed.length;
}
