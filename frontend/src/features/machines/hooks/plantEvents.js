import { machineKeys } from './useMachines.js';
import { liveReadingsApply } from './liveReadings.js';

/** Applies the plant socket's machine frames: live readings, status changes and new predictions. */
export function machineEventApply(queryClient, frame) {
  if (frame.type === 'predictions') {
    // The predictor finished a tick: the grid's and the open machine page's predictions are stale.
    queryClient.invalidateQueries({ queryKey: machineKeys.latestPredictions() });
    queryClient.invalidateQueries({ queryKey: machineKeys.predictionHistories() });
    return true;
  }
  if (frame.type === 'telemetry') {
    liveReadingsApply(frame.readings ?? []);
    return true;
  }
  if (frame.type === 'machine' && frame.event === 'status') {
    const now = new Date().toISOString();
    queryClient.setQueryData(machineKeys.list(), (machines) =>
      machines?.map((machine) =>
        machine.code === frame.machine ? { ...machine, status: frame.status, status_changed_at: now } : machine,
      ),
    );
    queryClient.setQueryData(machineKeys.detail(frame.machine), (machine) =>
      machine ? { ...machine, status: frame.status, status_changed_at: now } : machine,
    );
    queryClient.invalidateQueries({ queryKey: machineKeys.latestPredictions() });
    return true;
  }
  return false;
}

/** After a reconnect: machines and predictions are small, so fetch them whole. */
export function machinesCatchUp(queryClient) {
  return Promise.all([
    queryClient.invalidateQueries({ queryKey: machineKeys.all }),
    queryClient.invalidateQueries({ queryKey: machineKeys.latestPredictions() }),
  ]);
}
