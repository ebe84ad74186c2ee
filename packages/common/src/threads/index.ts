export { workerEntry, type WorkerEntry } from './entry.js';
