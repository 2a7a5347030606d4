// Tables for the terminal (aligned columns) and for Markdown, from the same
// rows: an array of header strings and rows of cell strings. Cells that look
// numeric are right-aligned.

const NUMERIC = /^[\s×x~<>≈%()./·\d-]*\d[\s×x%()./·\d-]*$/;

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
