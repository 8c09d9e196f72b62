// Thai Nguyen ID's pages for /work/shared/peers/flow.mjs (--forms=bench/tnid_forms.mjs).
// flow.mjs hands each HTML page it lands on to this function with the parsed <form>s and
// {username, password, index}; we answer the login form (csrf_token + interaction hidden fields,
// identifier, password) or the consent form (decision=allow).
// Our citizens are identified by CCCD numbers, not "user<index>": bench/run.py passes the seeded
// numbers in TNID_BENCH_IDENTIFIERS (comma-separated) and login <index> uses number index % count.
const identifiers = (process.env.TNID_BENCH_IDENTIFIERS ?? '').split(',').filter(Boolean);

export default function tnidForms(page, creds) {
  const form = page.forms.find((f) => f.method === 'POST');
  if (!form) throw new Error(`no form on ${page.url} (status ${page.status}): ${page.html.slice(0, 300)}`);
  const fields = {};
  for (const i of form.inputs) {
    if (i.name && i.type === 'hidden') fields[i.name] = i.value;
  }
  const names = new Set(form.inputs.map((i) => i.name));
  if (names.has('password')) {
    fields.identifier = identifiers.length ? identifiers[creds.index % identifiers.length] : creds.username;
    fields.password = creds.password;
  } else if (names.has('decision')) {
    fields.decision = 'allow';
  } else {
    throw new Error(`unknown form on ${page.url}: ${[...names].join(',')}`);
  }
  return { action: form.action, method: 'POST', fields };
}
