// The accessibility basics of tests/browser/looks.py, run in the page; returns a list of problems.
(minTarget) => {
  const problems = [];
  const lang = document.documentElement.lang;
  if (!['vi', 'en'].includes(lang)) problems.push(`<html lang="${lang}">`);
  const visible = (el) => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0;
  };
  const named = (el) => el.name || el.id || el.textContent.trim().slice(0, 40) || el.outerHTML.slice(0, 80);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button'].includes(el.type)) continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push(`no label: ${named(el)}`);
  }
  const targets = 'button, a.button, summary, select, textarea, '
    + 'input:not([type=hidden]):not([type=checkbox]):not([type=radio])';
  for (const el of document.querySelectorAll(targets)) {
    if (!visible(el)) continue;
    const h = el.getBoundingClientRect().height;
    if (h < minTarget) problems.push(`small target (${Math.round(h)} px): ${named(el)}`);
  }
  // A radio button or checkbox is tapped through its label: the label is the target.
  for (const el of document.querySelectorAll('input[type=checkbox], input[type=radio]')) {
    if (!visible(el)) continue;
    const heights = [el, ...(el.labels || [])].map((e) => e.getBoundingClientRect().height);
    const h = Math.max(...heights);
    if (h < minTarget) problems.push(`small target (${Math.round(h)} px): ${el.name}=${el.value}`);
  }
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  for (const el of document.body.querySelectorAll('*')) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
    if (!text || !visible(el)) continue;
    const s = getComputedStyle(el);
    const fg = rgb(s.color).slice(0, 3);
    const [l1, l2] = [lum(fg), lum(background(el))].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)}: "${text.slice(0, 40)}"`);
  }
  const scroll = document.documentElement.scrollWidth;
  if (scroll > window.innerWidth) problems.push(`scrolls sideways: ${scroll} px wide at ${window.innerWidth} px`);
  return problems;
}
