// Docker HEALTHCHECK of the aggregator image: GET /api/health on the loopback interface.
// Written for node because the slim base image has no curl or wget. Follows the same
// settings the aggregator reads: FINSECURE_PORT (default 8080) and, when
// FINSECURE_TLS_CERT is set, HTTPS. The certificate is not verified here: this probes
// our own process over loopback, and the certificate names the public host, not 127.0.0.1.
// Exit 0 = healthy, 1 = unhealthy (what Docker expects).
import http from 'node:http';
import https from 'node:https';

const port = Number(process.env.FINSECURE_PORT || 8080);
const tls = !!process.env.FINSECURE_TLS_CERT;
const client = tls ? https : http;

const req = client.get(
  { host: '127.0.0.1', port, path: '/api/health', timeout: 4000, ...(tls ? { rejectUnauthorized: false } : {}) },
  (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => {
      let status;
      try {
        status = JSON.parse(body).status;
      } catch {
        status = undefined;
      }
      if (res.statusCode === 200 && status === 'ok') process.exit(0);
      process.stderr.write(`unhealthy: HTTP ${res.statusCode} ${body.slice(0, 200)}\n`);
      process.exit(1);
    });
  },
);
req.on('timeout', () => req.destroy(new Error('timed out after 4 s')));
req.on('error', (err) => {
  process.stderr.write(`unhealthy: ${err.message}\n`);
  process.exit(1);
});
