// A WebSocket subscriber (npm `ws`) that sends one subscribe message and writes every message it
// receives to OUT_FILE, one per line, for SECONDS seconds, then exits 0 (1 when the connection
// failed or closed with an error before that).
//
//   WS_URL=ws://127.0.0.1:PORT/v1/ws SUBSCRIBE='{"type":"subscribe","after_seq":0}' \
//     OUT_FILE=... SECONDS=5 node collect_ws.mjs
import { appendFileSync, writeFileSync } from 'node:fs';
import WebSocket from 'ws';

const url = process.env.WS_URL;
const out = process.env.OUT_FILE;
const subscribe = process.env.SUBSCRIBE ?? '{"type":"subscribe","after_seq":0}';
const seconds = Number(process.env.SECONDS ?? 5);
if (!url || !out) {
  console.error('WS_URL and OUT_FILE are required');
  process.exit(2);
}
writeFileSync(out, '');
const socket = new WebSocket(url);
socket.on('open', () => socket.send(subscribe));
socket.on('message', (data) => appendFileSync(out, `${data}\n`));
socket.on('error', (error) => {
  console.error(`FAIL: ${error.message}`);
  process.exit(1);
});
setTimeout(() => {
  socket.close(1000);
  console.log('collected');
  process.exit(0);
}, seconds * 1000);
