// The loopback server for http-client.mjs, run as a separate process so that its work is not
// counted against the clients being measured. Keep-alive, one small JSON body for every request.
// Tells its parent the port over IPC, and exits when the parent disconnects.
import { createServer } from 'node:http';

const BODY = Buffer.from(JSON.stringify({ id: 1, name: 'bulwark', ok: true }));
const HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) };

const server = createServer((req, res) => {
  // Read (and drop) any request body before answering, as a real service would.
  req.resume();
  req.on('end', () => res.writeHead(200, HEADERS).end(BODY));
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 61_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  if (process.send) process.send({ port });
  else console.log(`listening on http://127.0.0.1:${port}`);
});
process.on('disconnect', () => server.close(() => process.exit(0)));
