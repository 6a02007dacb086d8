// Live delivery as third-party clients consume it: the npm `eventsource` package (the
// EventSource of browsers, for Node) and the npm `ws` package, against the real broker.
//
// Run by tests/e2e (e2e_broker "npm eventsource and ws clients ..."), which starts the broker
// and passes DATABROKER_URL, GATEWAY_KEY (ingest) and DASHBOARD_KEY (internal). Exits 0 when
// every check holds, 1 with the reason otherwise; gives up after 60 s.
import { EventSource } from 'eventsource';
import WebSocket from 'ws';

const base = process.env.DATABROKER_URL;
const gateway = process.env.GATEWAY_KEY;
const dashboard = process.env.DASHBOARD_KEY;
if (!base || !gateway || !dashboard) {
  console.error('DATABROKER_URL, GATEWAY_KEY and DASHBOARD_KEY are required');
  process.exit(2);
}
const overall = setTimeout(() => fail('timed out after 60 s'), 60_000);

function fail(reason) {
  console.error(`FAIL: ${reason}`);
  process.exit(1);
}

function check(condition, reason) {
  if (!condition) fail(reason);
}

// Posts `count` noise readings of one sensor; resolves to the seq range.
let posted = 0;
async function post(count, sensor = 'node-noise-1') {
  const body = [];
  for (let i = 0; i < count; i++) {
    body.push({ sensor, kind: 'noise', values: { laeq: 40 + (posted++ % 60), battery: 88 } });
  }
  const response = await fetch(`${base}/v1/readings`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${gateway}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  check(response.status === 202, `ingest answered ${response.status}`);
  return response.json();
}

// Resolves once `predicate()` holds, checking every 20 ms, or fails after `ms`.
function until(predicate, ms, what) {
  return new Promise((resolve) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (predicate()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > ms) {
        fail(`waited ${ms} ms for ${what}`);
      }
    }, 20);
  });
}

function consecutive(seqs, first, last) {
  if (seqs.length !== last - first + 1) return false;
  return seqs.every((seq, i) => seq === first + i);
}

// EventSource: anonymous open data through the open view, then a resume after a disconnect.
async function eventSourceResumes() {
  const head = await post(1);
  let seqs = [];
  let sample;
  const open = (after) => {
    const source = new EventSource(`${base}/v1/subscribe?kind=noise&after_seq=${after}`);
    source.addEventListener('reading', (event) => {
      seqs.push(Number(event.lastEventId));
      sample = JSON.parse(event.data);
    });
    source.onerror = () => {};  // reconnects are the library's business
    return source;
  };
  let source = open(head.last_seq);
  const first = await post(5);
  await until(() => seqs.length >= 5, 10_000, 'the first five SSE events');
  check(consecutive(seqs, first.first_seq, first.last_seq), `SSE seqs ${seqs}`);
  check(sample.values.laeq !== undefined && sample.values.battery === undefined,
        'the open view drops battery');
  source.close();

  const missed = await post(7);
  const lastSeen = seqs[seqs.length - 1];
  seqs = [];
  source = open(lastSeen);
  await until(() => seqs.length >= 7, 10_000, 'the seven missed SSE events');
  const live = await post(2);
  await until(() => seqs.length >= 9, 10_000, 'two live SSE events');
  source.close();
  check(consecutive(seqs, missed.first_seq, live.last_seq),
        `SSE resume: got ${seqs}, expected ${missed.first_seq}..${live.last_seq}`);
  console.log(`eventsource: 5 live, 7 missed and 2 live events in order, resumed after ${lastSeen}`);
}

// EventSource with the key in the query (browsers cannot set headers): internal, raw.
async function eventSourceWithToken() {
  const head = await post(1, 'node-noise-2');
  let reading;
  const source = new EventSource(
      `${base}/v1/subscribe?stream=node-noise-2&after_seq=${head.last_seq}&access_token=${dashboard}`);
  source.addEventListener('reading', (event) => { reading = JSON.parse(event.data); });
  await post(1, 'node-noise-2');
  await until(() => reading !== undefined, 10_000, 'the dashboard event');
  source.close();
  check(reading.values.battery === 88, 'an internal profile receives the raw reading');
  console.log('eventsource: access_token in the query authenticates the dashboard');
}

// ws: subscribe message, events, disconnect, resume with after_seq.
function openSocket(after) {
  const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws?access_token=${dashboard}`);
  const state = { seqs: [], subscribed: false, closed: null, socket };
  socket.on('open', () => {
    socket.send(JSON.stringify({ type: 'subscribe', kind: 'noise', stream: 'node-noise-*',
                                 after_seq: after }));
  });
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString());
    if (message.type === 'subscribed') state.subscribed = true;
    if (message.type === 'reading') {
      check(message.reading.seq === message.seq, 'the message seq is the reading seq');
      state.seqs.push(message.seq);
    }
  });
  socket.on('close', (code) => { state.closed = code; });
  socket.on('error', (error) => fail(`ws error: ${error.message}`));
  return state;
}

async function webSocketResumes() {
  const head = await post(1);
  let state = openSocket(head.last_seq);
  await until(() => state.subscribed, 10_000, 'the subscribed message');
  const first = await post(4);
  await until(() => state.seqs.length >= 4, 10_000, 'four WebSocket events');
  check(consecutive(state.seqs, first.first_seq, first.last_seq), `ws seqs ${state.seqs}`);
  state.socket.close(1000);
  await until(() => state.closed !== null, 10_000, 'the close handshake');

  const missed = await post(6);
  const lastSeen = state.seqs[state.seqs.length - 1];
  state = openSocket(lastSeen);
  await until(() => state.seqs.length >= 6, 10_000, 'the six missed WebSocket events');
  check(consecutive(state.seqs, missed.first_seq, missed.last_seq),
        `ws resume: got ${state.seqs}, expected ${missed.first_seq}..${missed.last_seq}`);

  // A bad subscribe message is refused with close code 4400.
  const bad = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws`);
  let badCode = null;
  bad.on('open', () => bad.send(JSON.stringify({ type: 'subscribe', kind: 'no such kind' })));
  bad.on('close', (code) => { badCode = code; });
  bad.on('error', () => {});
  await until(() => badCode !== null, 10_000, 'the refusal of a bad subscribe message');
  check(badCode === 4400, `a bad subscribe message closes with 4400, not ${badCode}`);
  state.socket.close(1000);
  console.log(`ws: 4 live and 6 missed events in order, resumed after ${lastSeen}; bad subscribe: 4400`);
}

await eventSourceResumes();
await eventSourceWithToken();
await webSocketResumes();
clearTimeout(overall);
console.log('PASS');
process.exit(0);
