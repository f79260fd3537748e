// What each role may do in the dashboard; the API enforces the same rules (tickets/permissions.py).
export const ROLES = { MANAGER: 'Manager', TECHNICIAN: 'Technician', SUPERVISOR: 'Supervisor' };

export const mayAcknowledgeAlerts = (role) => role === ROLES.MANAGER || role === ROLES.SUPERVISOR;
export const mayMarkAlertsFalse = (role) => role === ROLES.MANAGER || role === ROLES.SUPERVISOR;
export const mayReadReports = (role) => role === ROLES.MANAGER || role === ROLES.SUPERVISOR;
export const mayWatchPlant = (role) => role === ROLES.MANAGER || role === ROLES.SUPERVISOR;
export const homePath = (role) => (role === ROLES.TECHNICIAN ? '/tickets' : '/');
