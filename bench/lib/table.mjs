// Tables for the terminal (aligned columns) and for Markdown, from the same
// rows: an array of header strings and rows of cell strings. Cells that look
// numeric are right-aligned.
import { pairedRatio } from './timing.mjs';

const NUMERIC = /^[\s×x~<>≈%()[\]./·\d–-]*\d[\s×x%()[\]./·\d–-]*$/;

function isNumeric(cell) {
  return NUMERIC.test(cell);
}

const width = (s) => [...s].length;

export function textTable(headers, rows) {
  const all = [headers, ...rows];
  const widths = headers.map((_, c) => Math.max(...all.map((r) => width(r[c] ?? ''))));
  const line = (r) =>
    r.map((cell, c) => {
      const s = cell ?? '';
      const pad = ' '.repeat(widths[c] - width(s));
      return c > 0 && isNumeric(s) ? pad + s : s + pad;
    }).join('  ').trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

export function markdownTable(headers, rows) {
  const esc = (s) => String(s ?? '').replace(/\|/g, '\\|');
  const align = headers.map((_, c) => (c > 0 && rows.some((r) => isNumeric(r[c] ?? '')) ? '---:' : '---'));
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `|${align.join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** 3 significant figures, without exponent for the ranges a benchmark prints. */
export function fmt3(x) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a >= 0.01) return x.toFixed(3);
  return x.toPrecision(2);
}

/**
 * "ntensor ÷ peer, paired by round": for each key a row, for each [id, label]
 * of `peers` a cell "median× [min–max]" of the rounds' peer time ÷ ntensor
 * time (timing.mjs pairedRatio); get(id, key) is a library's timing entry.
 */
export function pairedTable(keys, label, ntId, peers, get) {
  const cell = (k, id) => {
    const p = pairedRatio(get(ntId, k), get(id, k));
    return p ? `${fmt3(p.median)}× [${fmt3(p.min)}–${fmt3(p.max)}]` : '—';
  };
  return {
    headers: ['shape', ...peers.map(([, l]) => `÷ ${l}`)],
    rows: keys.map((k) => [label(k), ...peers.map(([id]) => cell(k, id))]),
  };
}

export const PAIRED_INTRO = 'ntensor ÷ peer paired by round: in each round the two were timed back to back, and each cell is the median [lowest–highest] over the rounds of that round\'s peer median ÷ ntensor median (> 1: ntensor is faster), so a slow phase of the machine that spans a round cancels';

/** "1 thread", "2 threads". */
export const threadLabel = (t) => `${t} thread${t === 1 ? '' : 's'}`;

/**
 * A suite's "Preallocated outputs" Markdown: for each thread setting that has
 * tables (tablesAt(t): [caption or null, { headers, rows } or null] pairs, or
 * null for none), a heading, `intro` under the first one, each table with its
 * caption; then the preallocated run's notes.
 */
export function preallocatedMarkdown(result, intro, tablesAt) {
  const out = [];
  for (const t of result.threadSettings) {
    const tables = tablesAt(t);
    if (!tables) continue;
    out.push(`#### Preallocated outputs (steady state), ${threadLabel(t)}`, '');
    if (out.length === 2) out.push(intro, '');
    for (const [caption, tb] of tables) {
      if (!tb) continue;
      if (caption) out.push(caption, '');
      out.push(markdownTable(tb.headers, tb.rows), '');
    }
  }
  if (result.preallocated.notes.length) out.push(...result.preallocated.notes.map((l) => `- ${l}`), '');
  return out;
}
