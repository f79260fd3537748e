import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useOfflineQueue } from '../../../lib/offline/OfflineQueueProvider.jsx';
import { ticketWithQueued, ticketWithTick } from '../../../lib/offline/ticket-view.js';
import { sendTicketAction } from '../api/offline-actions.js';
import { fetchTicket, fetchTickets, fetchTicketsChangedSince, takeTicket } from '../api/tickets.js';

export const ticketKeys = {
  all: ['tickets'],
  lists: ['tickets', 'list'],
  list: (params) => ['tickets', 'list', params],
  detail: (id) => ['tickets', 'detail', String(id)],
};

export function useTickets(params, { enabled = true } = {}) {
  return useQuery({ queryKey: ticketKeys.list(params), queryFn: () => fetchTickets(params), enabled });
}

/**
 * Fetches each listed ticket in full once, when `keep` says so (the technician's own tickets): the
 * service worker keeps the answers, so each one's SOP and evidence can be read offline later,
 * whether or not its page was opened while online.
 */
export function useTicketsKeptForOffline(page, keep) {
  const queryClient = useQueryClient();
  useEffect(() => {
    if (!keep || !page || !globalThis.navigator?.onLine) return;
    for (const ticket of page.results) {
      queryClient.prefetchQuery({ queryKey: ticketKeys.detail(ticket.id), queryFn: () => fetchTicket(ticket.id) });
    }
  }, [queryClient, page, keep]);
}

/** The ticket as the server last said, with the technician's actions still waiting to be sent
 * applied (lib/offline): what was done offline shows at once, marked as waiting. */
export function useTicket(id) {
  const query = useQuery({ queryKey: ticketKeys.detail(id), queryFn: () => fetchTicket(id) });
  const { actions } = useOfflineQueue();
  return query.data ? { ...query, data: ticketWithQueued(query.data, actions) } : query;
}

/**
 * An action on the ticket that works offline: sent at once when the server can be reached, queued
 * (lib/offline/queue.js) when it cannot, and sent with the time it was done when the network
 * returns. The mutation's data is `{queued, result}`.
 */
function useTicketAction(id, type, toPayload) {
  const queryClient = useQueryClient();
  const { queue } = useOfflineQueue();
  return useMutation({
    // The queue decides what to do without a network: the mutation must not wait for one.
    networkMode: 'always',
    mutationFn: async (input) => {
      const submitted = { ticketId: Number(id), type, payload: await toPayload(input) };
      if (queue) return queue.submit(submitted);
      // Outside the offline provider (a page rendered alone): straight to the server.
      const result = await sendTicketAction({ ...submitted, key: crypto.randomUUID() }, { live: true });
      return { queued: false, result };
    },
    onSuccess: ({ queued, result }) => {
      if (queued) return;
      if (result?.actions) queryClient.setQueryData(ticketKeys.detail(id), result);
      // A tick answers with the tick, not the ticket: into the ticket kept here at once, so that the
      // box does not fall back to unticked until the ticket is fetched again.
      else if (type === 'tick' && result) {
        queryClient.setQueryData(ticketKeys.detail(id), (ticket) => ticket && ticketWithTick(ticket, result));
      }
      queryClient.invalidateQueries({ queryKey: ticketKeys.all });
    },
  });
}

export const useStartTicket = (id) => useTicketAction(id, 'start', () => ({}));

export const useResolveTicket = (id) =>
  useTicketAction(id, 'resolve', ({ outcome, foundFailureMode, notes }) => ({
    outcome,
    found_failure_mode: foundFailureMode,
    notes,
  }));

export const useCommentOnTicket = (id) => useTicketAction(id, 'comment', (text) => ({ text }));

/** `mutate({step, done})`: a step of the SOP checklist, kept on the server. */
export const useTickChecklistStep = (id) => useTicketAction(id, 'tick', ({ step, done }) => ({ step, done }));

/** `mutate({file, caption})`: the ticket is fetched again, with the photo in its list and its activity. */
export const useAddTicketPhoto = (id) =>
  useTicketAction(id, 'photo', async ({ file, caption }) => ({
    // Its bytes rather than the File: every browser keeps an ArrayBuffer in IndexedDB (older
    // Safari kept no Blob), and the upload is made again from them.
    image: { bytes: await file.arrayBuffer(), name: file.name, type: file.type },
    caption,
  }));

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
