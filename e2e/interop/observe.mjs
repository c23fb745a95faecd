// Observes /v1/notify?action=get_sessions with node-coap (RFC 7641 GET with
// Observe=0) and prints one line per message: "SNAPSHOT <code> <json>" for the
// registration response, then "NOTIFY <json>" for each notification, which
// node-coap acknowledges. Exits after <count> notifications.
// Usage: node observe.mjs <port> <count>
import coap from 'coap';

const [port, count] = process.argv.slice(2).map(Number);
if (!port || !count) {
  console.error('usage: node observe.mjs <port> <count>');
  process.exit(2);
}

const req = coap.request({
  host: '127.0.0.1',
  port,
  pathname: '/v1/notify',
  query: 'action=get_sessions',
  method: 'GET',
  observe: true,
});

req.on('response', (res) => {
  let notifications = -1; // node-coap emits the registration payload as the first 'data'
  res.on('data', (payload) => {
    notifications += 1;
    if (notifications === 0) {
      console.log(`SNAPSHOT ${res.code} ${payload.toString('utf-8')}`);
      return;
    }
    console.log(`NOTIFY ${payload.toString('utf-8')}`);
    if (notifications >= count) {
      res.close();
      process.exit(0);
    }
  });
});
req.on('error', (error) => {
  console.error(error);
  process.exit(1);
});
req.end();
