/* global require, process, setTimeout, console */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: PM2 runs it unbuilt */
// healcast demo app: the tiny HTTP service the executor's integration tests and the demo scale
// and restart through PM2. Plain CommonJS with no dependencies and no build step, so PM2 runs
// this file as it is (cluster mode `require`s the script in each worker).
//
//   PORT                 port to listen on (all cluster instances share it). Default 3000.
//   DEMO_APP_HOST        address to listen on. Default 127.0.0.1 (the demo is local).
//   DEMO_APP_FAIL_FILE   optional path: while a file exists there, /healthz answers 503. A file
//                        (not memory) so every instance agrees and a test or an operator can flip
//                        health from outside without reaching a particular instance.
//
//   GET /         200 JSON { pid, instance, startedAtMs } — which process answered; `instance`
//                 is PM2's NODE_APP_INSTANCE (null outside PM2), `startedAtMs` this process's
//                 start, so a restart is visible from outside.
//   GET /healthz  200 "ok", or 503 "failing" while the fail file exists.
//
// SIGINT (what PM2 sends on stop/reload) and SIGTERM close the listener and exit once the
// in-flight requests are answered, so a reload drops no request; PM2's kill_timeout
// (1.6 s by default) is the backstop. Run by hand: `PORT=3000 node src/demo/app/demo-app.cjs`.
'use strict';

const http = require('node:http');
const fs = require('node:fs');

const startedAtMs = Date.now();
const port = Number(process.env.PORT ?? 3000);
const host = process.env.DEMO_APP_HOST ?? '127.0.0.1';
const failFile = process.env.DEMO_APP_FAIL_FILE;
const instance = process.env.NODE_APP_INSTANCE ?? null;

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/') {
    const body = JSON.stringify({ pid: process.pid, instance, startedAtMs });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return;
  }
  if (req.method === 'GET' && path === '/healthz') {
    const failing = failFile !== undefined && failFile !== '' && fs.existsSync(failFile);
    res.writeHead(failing ? 503 : 200, { 'content-type': 'text/plain' });
    res.end(failing ? 'failing' : 'ok');
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
});

// Keep-alive clients would otherwise hold a closing server open until kill_timeout.
server.keepAliveTimeout = 1000;

server.listen(port, host, () => {
  console.log(`demo-app pid ${process.pid} instance ${instance} listening on ${host}:${port}`);
});

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`demo-app pid ${process.pid} got ${signal}, closing`);
  // close() also drops idle keep-alive connections and answers the requests in flight.
  server.close(() => {
    // In cluster mode the master may have handed us a connection just before it learnt that
    // we stopped listening. Staying a moment lets us hand it back to another instance; a
    // worker that exits first leaves that client hanging (Node's round-robin handoff).
    setTimeout(() => process.exit(0), 300);
  });
  // Never outlive a stuck connection by much: PM2 sends SIGKILL after its kill_timeout.
  setTimeout(() => process.exit(0), 1200).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
