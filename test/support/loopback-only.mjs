// Preload for MCP servers that listen on every interface (server-everything calls app.listen(PORT)):
// binds them to 127.0.0.1, as every server in this project's tests must be.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && (args.length === 1 || typeof args[1] === 'function')) {
    args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
