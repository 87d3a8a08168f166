// The conformance suite's `server` command speaks to MCP servers that need no authorization; the
// example's /mcp needs a bearer token. This forwards every request from 127.0.0.1:LISTEN_PORT to
// 127.0.0.1:UPSTREAM_PORT with `Authorization: Bearer $MCP_ACCESS_TOKEN` added (unless the request
// has one), as an authorized client would send it, and changes nothing else: method, path, body
// and every other header, Host and Origin included, pass through as they came.
//
//   MCP_ACCESS_TOKEN=... node proxy.mjs LISTEN_PORT UPSTREAM_PORT
//
// Prints `PROXY <url>` once it listens.
import http from 'node:http';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const token = process.env.MCP_ACCESS_TOKEN;
if (!listenPort || !upstreamPort || !token) {
  console.error('usage: MCP_ACCESS_TOKEN=... node proxy.mjs LISTEN_PORT UPSTREAM_PORT');
  process.exit(2);
}

const server = http.createServer((request, response) => {
  const headers = { ...request.headers };
  headers.authorization ??= `Bearer ${token}`;
  const upstream = http.request(
    { host: '127.0.0.1', port: upstreamPort, method: request.method, path: request.url, headers },
    (answer) => {
      response.writeHead(answer.statusCode, answer.rawHeaders);
      answer.pipe(response);
    },
  );
  upstream.on('error', (error) => response.destroy(error));
  request.pipe(upstream);
});
server.listen(listenPort, '127.0.0.1', () => console.log(`PROXY http://127.0.0.1:${listenPort}`));
