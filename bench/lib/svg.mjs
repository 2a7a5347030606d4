// Hand-written SVG line charts: one or more panels side by side sharing a
// legend, log2 x-axis (sizes), log10 y-axis (rates spanning decades), one
// polyline per series, optional dashed horizontal reference lines (peaks).

const PALETTE = ['#d62728', '#7f7f7f', '#1f77b4', '#2ca02c', '#98df8a', '#ff7f0e', '#ffbb78', '#9467bd', '#c5b0d5', '#8c564b', '#17becf', '#e377c2'];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const r1 = (x) => Math.round(x * 10) / 10;

function yTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

const tickLabel = (v) => (v >= 1 ? String(Math.round(v)) : String(Number(v.toPrecision(1))));

/**
 * panels: [{ title, series: [{ name, points: [[x, y], ...], dash? }], hlines?: [{ y, label }] }]
 * Series with the same name share a colour across panels.
 */
export function lineChart({ title, subtitle, panels, xLabel, yLabel }) {
  const pw = 470, ph = 330, ml = 62, mr = 18, mt = 70, mb = 52, gap = 40;
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const color = new Map(names.map((n, i) => [n, PALETTE[i % PALETTE.length]]));
  const allPts = panels.flatMap((p) => p.series.flatMap((s) => s.points)).filter(([x, y]) => x > 0 && y > 0);
  const hys = panels.flatMap((p) => (p.hlines ?? []).map((h) => h.y));
  const xs = allPts.map((p) => p[0]);
  const ys = [...allPts.map((p) => p[1]), ...hys];
  const xMin = Math.min(...xs), xMax = Math.max(...xs);
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...ys))), yHi = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
  const legendRows = Math.ceil(names.length / 3);
  const W = ml + panels.length * pw + (panels.length - 1) * (gap + ml) + mr;
  const H = mt + ph + mb + 22 * legendRows + 16;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`);
  if (subtitle) out.push(`<text x="${W / 2}" y="42" text-anchor="middle" fill="#555">${esc(subtitle)}</text>`);

  panels.forEach((panel, pi) => {
    const x0 = ml + pi * (pw + gap + ml), y0 = mt;
    const sx = (x) => x0 + (xMax === xMin ? pw / 2 : ((Math.log2(x) - Math.log2(xMin)) / (Math.log2(xMax) - Math.log2(xMin))) * pw);
    const sy = (y) => y0 + ph - ((Math.log10(y) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * ph;
    out.push(`<g>`);
    out.push(`<text x="${x0 + pw / 2}" y="${y0 - 10}" text-anchor="middle" font-size="13" font-weight="bold">${esc(panel.title)}</text>`);
    // grid and ticks
    for (let e = Math.ceil(Math.log2(xMin)); e <= Math.floor(Math.log2(xMax)); e++) {
      const x = r1(sx(2 ** e));
      out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + ph}" stroke="#eee"/>`);
      out.push(`<text x="${x}" y="${y0 + ph + 16}" text-anchor="middle">${2 ** e}</text>`);
    }
    for (const v of yTicks(yLo, yHi)) {
      const y = r1(sy(v));
      out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + pw}" y2="${y}" stroke="${String(v).startsWith('1') ? '#ddd' : '#f3f3f3'}"/>`);
      out.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${tickLabel(v)}</text>`);
    }
    out.push(`<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
    out.push(`<text x="${x0 + pw / 2}" y="${y0 + ph + 36}" text-anchor="middle">${esc(xLabel)}</text>`);
    out.push(`<text transform="translate(${x0 - 44},${y0 + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
    for (const h of panel.hlines ?? []) {
      const y = r1(sy(h.y));
      out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + pw}" y2="${y}" stroke="#000" stroke-dasharray="2,3"/>`);
      out.push(`<text x="${x0 + 4}" y="${y - 4}" font-size="10" fill="#333">${esc(h.label)}</text>`);
    }
    for (const s of panel.series) {
      const pts = s.points.filter(([x, y]) => x > 0 && y > 0).sort((a, b) => a[0] - b[0]);
      if (!pts.length) continue;
      const c = color.get(s.name);
      const width = s.name.startsWith('ntensor') ? 3 : 1.8;
      out.push(`<polyline fill="none" stroke="${c}" stroke-width="${width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.map(([x, y]) => `${r1(sx(x))},${r1(sy(y))}`).join(' ')}"/>`);
      for (const [x, y] of pts) out.push(`<circle cx="${r1(sx(x))}" cy="${r1(sy(y))}" r="2.6" fill="${c}"/>`);
    }
    out.push(`</g>`);
  });

  // legend
  const ly = mt + ph + mb + 6;
  const colW = (W - 2 * ml) / 3;
  names.forEach((n, i) => {
    const x = ml + (i % 3) * colW, y = ly + Math.floor(i / 3) * 22;
    const dash = panels.flatMap((p) => p.series).find((s) => s.name === n)?.dash;
    out.push(`<line x1="${r1(x)}" y1="${y}" x2="${r1(x + 26)}" y2="${y}" stroke="${color.get(n)}" stroke-width="${n.startsWith('ntensor') ? 3 : 2}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    out.push(`<text x="${r1(x + 32)}" y="${y + 4}">${esc(n)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
