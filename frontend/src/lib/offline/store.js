// The offline action queue's storage: one IndexedDB object store, its records in the order they
// were added (`seq`, auto-incremented), so they are sent in the order the technician did them. It
// survives reloads and closing the tab, and holds what JSON cannot (a photo's File).

const DATABASE = 'maintainx-offline';
const VERSION = 1;
const ACTIONS = 'actions';

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The store's methods over an open database: all() in order, add() answers the new `seq`. */
export async function openActionStore({ indexedDB = globalThis.indexedDB, name = DATABASE } = {}) {
  if (!indexedDB) throw new Error('This browser has no IndexedDB: actions cannot be kept offline.');
  const opening = indexedDB.open(name, VERSION);
  opening.onupgradeneeded = () => {
    opening.result.createObjectStore(ACTIONS, { keyPath: 'seq', autoIncrement: true });
  };
  const database = await done(opening);

  function run(mode, operate) {
    const transaction = database.transaction(ACTIONS, mode);
    const result = done(operate(transaction.objectStore(ACTIONS)));
    const committed = new Promise((resolve, reject) => {
      transaction.oncomplete = resolve;
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
    return Promise.all([result, committed]).then(([value]) => value);
  }

  return {
    all: () => run('readonly', (store) => store.getAll()),
    add: (action) => run('readwrite', (store) => store.add(action)),
    put: (action) => run('readwrite', (store) => store.put(action)),
    remove: (seq) => run('readwrite', (store) => store.delete(seq)),
    clear: () => run('readwrite', (store) => store.clear()),
    close: () => database.close(),
  };
}
