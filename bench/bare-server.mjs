// The baseline of the server-overhead suite: a bare node:http server that reads the whole
// request body and answers with bytes captured from Ocellus for the same request (same
// status, same headers, same body). Plain JavaScript run by plain `node`, so nothing but
// Node's HTTP stack sits between the socket and the answer.
//
//   node bench/bare-server.mjs <capture.json>
//
// capture.json: {"status": 200, "headers": {"content-type": "..."}, "body": "<base64>",
// "keepAliveTimeoutMs": 72000}. Listens on 127.0.0.1, port 0, and prints {"port": N} on
// stdout once listening. Stops on SIGTERM.
import { readFileSync } from 'node:fs';
import http from 'node:http';

const capture = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const body = Buffer.from(capture.body, 'base64');
const headers = { ...capture.headers, 'content-length': String(body.length) };

const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(capture.status, headers);
    res.end(body);
  });
});
// Same keep-alive behaviour as the server it stands in for (Node's default is 5 s).
server.keepAliveTimeout = capture.keepAliveTimeoutMs ?? 5000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
