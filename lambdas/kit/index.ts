export * from './config.js';
export * from './data-store.js';
export * from './define-worker.js';
export * from './http.js';
export * from './secrets.js';
