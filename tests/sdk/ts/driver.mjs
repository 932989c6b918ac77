// Drives the official @anthropic-ai/sdk (unmodified) against a base URL.
// Input (stdin): {"baseURL": "...", "steps": [{"op": ..., "key": ..., "maxRetries": 0, "params": {...},
//                 "scenario": [<control-API steps>]}]}
// Output (stdout): one JSON array, one result per step: {"ok": true, "result": ...} or
//                  {"ok": false, "error": {"classes": [...], "status": ..., "requestID": ..., "body": ...}}.
import Anthropic from '@anthropic-ai/sdk';

const KEY = 'sk-ant-test-scale';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function classChain(err) {
  const names = [];
  for (let p = Object.getPrototypeOf(err); p && p.constructor && p.constructor !== Object; p = Object.getPrototypeOf(p)) {
    names.push(p.constructor.name);
  }
  return names;
}

async function run(client, step) {
  const p = step.params || {};
  switch (step.op) {
    case 'create':
      return await client.messages.create(p);
    case 'stream_raw': {
      const stream = await client.messages.create({ ...p, stream: true });
      const events = [];
      for await (const event of stream) events.push(event);
      return events;
    }
    case 'stream_helper': {
      const stream = client.messages.stream(p);
      let text = '';
      stream.on('text', (delta) => { text += delta; });
      const final = await stream.finalMessage();
      return { text, final };
    }
    case 'count_tokens':
      return await client.messages.countTokens(p);
    case 'models_list': {
      const ids = [];
      for await (const model of client.models.list(p)) ids.push(model.id);
      return ids;
    }
    case 'models_retrieve':
      return await client.models.retrieve(p.id);
    default:
      throw new Error(`unknown op ${step.op}`);
  }
}

const input = await readStdin();
const results = [];
for (const step of input.steps) {
  const key = step.key || KEY;
  if (step.scenario) {
    const r = await fetch(`${input.baseURL}/_conformance/scenarios`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-conformance-control-token': input.controlToken },
      body: JSON.stringify({ key, responses: step.scenario }),
    });
    if (!r.ok) throw new Error(`scenario rejected: ${await r.text()}`);
  }
  const client = new Anthropic({ apiKey: key, baseURL: input.baseURL, maxRetries: step.maxRetries ?? 0, timeout: 10000 });
  try {
    results.push({ ok: true, result: await run(client, step) });
  } catch (err) {
    results.push({
      ok: false,
      error: { classes: classChain(err), status: err.status ?? null, requestID: err.requestID ?? null,
               body: err.error ?? null, message: String(err.message || err) },
    });
  }
}
process.stdout.write(JSON.stringify(results));
