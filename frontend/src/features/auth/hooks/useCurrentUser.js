import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { fetchMe, login, logout } from '../api/auth.js';
import { forgetOfflineData } from '../../../lib/service-worker.js';

export const ME_KEY = ['me'];

export function useCurrentUser() {
  return useQuery({ queryKey: ME_KEY, queryFn: fetchMe, staleTime: Infinity });
}

export function useLogin() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: login,
    onSuccess: (user) => {
      queryClient.clear(); // nothing from another account's session may show
      queryClient.setQueryData(ME_KEY, user);
    },
  });
}

export function useLogout() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: logout,
    onSettled: () => {
      forgetOfflineData();
      queryClient.clear();
      queryClient.setQueryData(ME_KEY, null);
    },
  });
}
