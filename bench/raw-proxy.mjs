// The floor of any second HTTP hop, for the echo section: a plain `node:http` reverse proxy that pipes each request
// to the origin given as its argument on a keep-alive pool and pipes the response back, bytes unread. Listens on 127.0.0.1:$PORT.
import {Agent, createServer, request} from 'node:http';
import process from 'node:process';
import {URL} from 'node:url';

const target = new URL(process.argv[2]);
const agent = new Agent({keepAlive: true});
createServer((req, res) => {
  const upstream = request(
    {host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, agent},
    (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}).listen(Number(process.env.PORT), '127.0.0.1');
