// A TCP relay in front of the proxy that can make every connection through
// it go dead without a word: no FIN, no RST, bytes simply stop, as when an
// iPad's Wi-Fi sleeps and the stand's server restarts meanwhile. New
// connections pass as before.
import net from 'node:net';

export async function startRelay(targetPort) {
  const live = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    live.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dead = [];
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Every open connection stops carrying bytes, both ways, and stays open. */
    silenceAll() {
      for (const pair of live) {
        pair.client.unpipe(pair.upstream);
        pair.upstream.unpipe(pair.client);
        pair.client.pause();
        pair.upstream.pause();
        dead.push(pair);
      }
      live.clear();
    },
    async stop() {
      for (const { client, upstream } of [...live, ...dead]) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
