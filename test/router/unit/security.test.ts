import {describe, expect, it} from 'vitest';
import {rejectOrigin, type OriginPolicy} from '../../../router/http/security.js';

const loopback: OriginPolicy = {allowedOrigins: [], loopbackOnly: true};
const pod: OriginPolicy = {allowedOrigins: ['https://app.example'], loopbackOnly: false};
/** Bound to 0.0.0.0 with no allowedHosts: the review's setup. */
const open: OriginPolicy = {allowedOrigins: [], loopbackOnly: false};
const pinned: OriginPolicy = {allowedOrigins: [], loopbackOnly: false, allowedHosts: ['router.tools.svc']};

describe('rejectOrigin (DNS-rebinding protection, MCP 2025-11-25 basic/transports)', () => {
  it.each([
    [loopback, {host: '127.0.0.1:8080'}, undefined],
    [loopback, {host: 'localhost:8080', origin: 'http://localhost:6274'}, undefined],
    [loopback, {host: '[::1]:8080'}, undefined],
    [loopback, {host: 'evil.example:8080'}, 'Host header not allowed'],
    [loopback, {host: '127.0.0.1:8080', origin: 'http://evil.example'}, 'Origin header not allowed'],
    [pod, {host: 'router.tools.svc'}, undefined],
    // A same-origin request proves nothing: a DNS-rebinding page has the origin of the name it rebinds.
    [pod, {host: 'router.tools.svc', origin: 'http://router.tools.svc'}, 'Origin header not allowed'],
    [pod, {host: 'router.tools.svc', origin: 'https://app.example'}, undefined],
    [pod, {host: 'router.tools.svc', origin: 'https://other.example'}, 'Origin header not allowed'],
    [pod, {host: 'router.tools.svc', origin: 'not a url'}, 'Origin header not allowed'],
    [pinned, {host: 'router.tools.svc:80'}, undefined],
    // An IP address cannot be a DNS-rebinding name: a ClusterIP, a pod IP, a node port are accepted.
    [pinned, {host: '10.0.0.1:8080'}, undefined],
    [pinned, {host: '[fd00::1]:8080'}, undefined],
    [pinned, {host: 'evil.example:8080'}, 'Host header not allowed'],
    [pinned, {host: '10.0.0.1.evil.example'}, 'Host header not allowed'],
    [open, {host: 'evil.example:8080', origin: 'http://evil.example:8080'}, 'Origin header not allowed'],
    [open, {host: 'evil.example:8080'}, undefined],
  ])('%j with %j: %s', (policy, headers, expected) => {
    expect(rejectOrigin(headers, policy)).toBe(expected);
  });
});
