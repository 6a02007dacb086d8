// An EventSource (npm `eventsource`, the browser API for Node) left running while the test
// restarts the broker: it reconnects by itself, as a browser does, sending the Last-Event-ID of
// the last event it received. Appends the seq of every `reading` event to OUT_FILE, one per
// line, and exits 0 once it has received UNTIL_SEQ (1 after 60 s).
//
//   SSE_URL=http://127.0.0.1:PORT/v1/subscribe?... OUT_FILE=... UNTIL_SEQ=N node collect_sse.mjs
import { appendFileSync, writeFileSync } from 'node:fs';
import { EventSource } from 'eventsource';

const url = process.env.SSE_URL;
const out = process.env.OUT_FILE;
const until = Number(process.env.UNTIL_SEQ);
if (!url || !out || !until) {
  console.error('SSE_URL, OUT_FILE and UNTIL_SEQ are required');
  process.exit(2);
}
writeFileSync(out, '');
let reconnects = 0;
const source = new EventSource(url);
source.onopen = () => console.log(`open (connection ${++reconnects})`);
source.onerror = () => console.log('disconnected; EventSource retries by itself');
source.addEventListener('reading', (event) => {
  appendFileSync(out, `${event.lastEventId}\n`);
  if (Number(event.lastEventId) >= until) {
    source.close();
    console.log(`received seq ${until} after ${reconnects} connections`);
    process.exit(0);
  }
});
setTimeout(() => {
  console.error(`FAIL: seq ${until} not received within 60 s`);
  process.exit(1);
}, 60_000);
