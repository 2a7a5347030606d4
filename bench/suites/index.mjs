// The registry of benchmark suites: name → lazy module. A suite exports
// `name`, `description`, `run(ctx)` → a JSON-able result, and
// `reportText(result, ctx)`, `reportMarkdown(result, ctx)`, optionally
// `chart(result, ctx)` → SVG text.
export const SUITES = {
  matmul: () => import('./matmul.mjs'),
  inprocess: () => import('./inprocess.mjs'),
  conv2d: () => import('./conv2d.mjs'),
  eventloop: () => import('./eventloop.mjs'),
};
