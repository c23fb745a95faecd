// The seed doc's example client (node-coap, same request shape as the LRS
// "Retrieving Single Active Sessions" page), pointed at a simulator:
// create a session with POST /v1/sessions, then read it back with
// GET /v1/sessions?number=N. Prints one line per response:
//   POST <code> <payload>
//   GET <code> <json of sessions[0]>
// Usage: node create-and-get.mjs <port> <number> [label]
import coap from 'coap';

const [port, number, label = 'Sarah'] = process.argv.slice(2);
if (!port || !number) {
  console.error('usage: node create-and-get.mjs <port> <number> [label]');
  process.exit(2);
}

function send(options, body) {
  return new Promise((resolve, reject) => {
    const req = coap.request({ host: '127.0.0.1', port: Number(port), ...options });
    req.on('response', resolve);
    req.on('error', reject);
    if (body !== undefined) {
      req.setOption('Content-Format', 'application/json');
      // Compact, single-line JSON: the device rejects tabs and line breaks.
      req.write(JSON.stringify(body));
    }
    req.end();
  });
}

const created = await send(
  { pathname: '/v1/sessions', method: 'POST' },
  { number: Number(number), goal: 60, label, partySize: 4 },
);
console.log(`POST ${created.code} ${created.payload.toString('utf-8')}`);

const res = await send({ pathname: '/v1/sessions', query: `number=${number}`, method: 'GET' });
const json = JSON.parse(res.payload.toString('utf-8'));
if (res.code[0] === '2') {
  // An array of sessions for consistency with /v1/sessions: take the first.
  console.log(`GET ${res.code} ${JSON.stringify(json.sessions[0])}`);
} else {
  console.log(`GET ${res.code} ${JSON.stringify(json)}`);
  process.exitCode = 1;
}
