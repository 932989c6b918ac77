// Driver for the official TypeScript SDK (@anthropic-ai/sdk), protocol 1 (schemas/sdk/driver-*.schema.json).
//
// Reads scenario lines on stdin, calls the SDK once per line against ANTHROPIC_BASE_URL with
// ANTHROPIC_API_KEY, and prints one result line per scenario on stdout. Node built-ins and the SDK only.
// The SDK is loaded from CONFORMANCE_SDK_PATH (a directory with node_modules/@anthropic-ai/sdk, as
// `npm install --prefix DIR` leaves it), else from beside this file.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const PROTOCOL = 1;
const here = path.dirname(fileURLToPath(import.meta.url));
const prefix = process.env.CONFORMANCE_SDK_PATH || here;
const require = createRequire(path.join(path.resolve(prefix), 'package.json'));
const entry = require.resolve('@anthropic-ai/sdk');
const loaded = require(entry);
const Anthropic = loaded.default ?? loaded.Anthropic ?? loaded;

function sdkVersion() {
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (pkg.name === '@anthropic-ai/sdk') return pkg.version;
    }
  }
  return 'unknown';
}

const SDK = { name: '@anthropic-ai/sdk', version: sdkVersion(), language: 'typescript' };

class Unsupported extends Error {}

function classChain(err) {
  const names = [];
  for (let p = Object.getPrototypeOf(err); p && p.constructor && p.constructor !== Object; p = Object.getPrototypeOf(p)) {
    names.push(p.constructor.name);
  }
  return names;
}

function errorKind(err) {
  const is = (name) => typeof Anthropic[name] === 'function' && err instanceof Anthropic[name];
  if (is('APIConnectionTimeoutError')) return 'timeout';
  if (is('APIConnectionError')) return 'connection';
  if (is('APIError')) return 'api';
  if (err && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timeout';
  // A body cut mid-stream surfaces as undici's "terminated" (caused by a socket error), wrapped or not.
  for (let e = err, depth = 0; e && depth < 8; e = e.cause, depth++) {
    if (typeof e.code === 'string' && /^(UND_ERR|ECONN|EPIPE)/.test(e.code)) return 'connection';
    if (/^(terminated|fetch failed)$/.test(String(e.message))) return 'connection';
  }
  return 'other';
}

function describe(err) {
  const body = err?.error;
  const inner = body && typeof body === 'object' ? (body.error ?? body) : null;
  const type = inner && typeof inner.type === 'string' && inner.type !== 'error' ? inner.type : null;
  const status = Number.isInteger(err?.status) && err.status >= 100 && err.status <= 599 ? err.status : null;
  const classes = err && typeof err === 'object' ? classChain(err) : [];
  return {
    class: classes[0] || typeof err, classes, kind: errorKind(err), status, type,
    message: String(err?.message ?? err).slice(0, 100000),
    request_id: requestId(err),
  };
}

// `requestID` from 0.3x on; `request_id` before; else the answer's header (a Headers or a plain record).
function requestId(err) {
  const headers = err?.headers;
  const fromHeaders = typeof headers?.get === 'function' ? headers.get('request-id') : headers?.['request-id'];
  const found = [err?.requestID, err?.request_id, fromHeaders].find((v) => typeof v === 'string' && v);
  return found ?? null;
}

function makeClient(client) {
  const options = {
    apiKey: process.env.ANTHROPIC_API_KEY, baseURL: process.env.ANTHROPIC_BASE_URL,
    maxRetries: client.max_retries, timeout: Math.round(client.timeout * 1000),
  };
  if (client.api_version) options.defaultHeaders = { 'anthropic-version': client.api_version };
  return new Anthropic(options);
}

function resource(client, scenario, name) {
  const base = scenario.betas ? client.beta : client;
  const found = base && base[name];
  if (!found) throw new Unsupported(`@anthropic-ai/sdk ${SDK.version} has no client${scenario.betas ? '.beta' : ''}.${name}`);
  return found;
}

async function call(client, scenario, result) {
  const params = { ...scenario.params };
  if (scenario.betas) params.betas = scenario.betas;
  switch (scenario.call) {
    case 'messages.create':
      return await resource(client, scenario, 'messages').create(params);
    case 'messages.stream': {
      const info = { events: [], text: '' };
      result.stream = info;
      const stream = resource(client, scenario, 'messages').stream(params);
      stream.on('streamEvent', (event) => info.events.push(String(event.type)));
      stream.on('text', (delta) => { info.text += delta; });
      stream.on('error', () => {});  // finalMessage() rejects with it
      return await stream.finalMessage();
    }
    case 'messages.count_tokens': {
      const messages = resource(client, scenario, 'messages');
      if (typeof messages.countTokens !== 'function') throw new Unsupported(`@anthropic-ai/sdk ${SDK.version} has no messages.countTokens`);
      return await messages.countTokens(params);
    }
    case 'models.list': {
      const models = [];
      for await (const model of resource(client, scenario, 'models').list(params)) models.push(model);
      return models;
    }
    case 'models.retrieve':
      return await resource(client, scenario, 'models').retrieve(params.model_id);
    default:
      throw new Unsupported(`unknown call ${scenario.call}`);
  }
}

async function run(scenario) {
  const result = { protocol: PROTOCOL, sdk: SDK };
  if (scenario.protocol !== PROTOCOL) return { ...result, outcome: 'unsupported', reason: `this driver speaks protocol ${PROTOCOL}` };
  if (scenario.client.strict) {
    return { ...result, outcome: 'unsupported', reason: '@anthropic-ai/sdk does not validate answers at run time (types only)' };
  }
  const start = performance.now();
  try {
    const value = await call(makeClient(scenario.client), scenario, result);
    Object.assign(result, { outcome: 'ok', response: JSON.parse(JSON.stringify(value ?? null)) });
  } catch (err) {
    if (err instanceof Unsupported) Object.assign(result, { outcome: 'unsupported', reason: err.message });
    else Object.assign(result, { outcome: 'error', error: describe(err) });
  }
  result.elapsed_ms = Math.round((performance.now() - start) * 10) / 10;
  return result;
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const result = await run(JSON.parse(line));
  process.stdout.write(JSON.stringify(result) + '\n');
}
