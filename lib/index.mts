// ESM entry: re-exports the CommonJS build so that `import` and `require`
// share one module instance (and one native addon) — no dual-package hazard.
export * from './index.js';
