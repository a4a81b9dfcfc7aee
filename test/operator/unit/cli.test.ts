import {describe, expect, it, vi} from 'vitest';
import {operatorCommand, parseOperatorFlags} from '../../../operator/cli.js';
import {parseBindAddress} from '../../../operator/runtime/server.js';
import {DEFAULT_ROUTER_IMAGE} from '../../../operator/version.js';

describe('parseOperatorFlags', () => {
  it('has defaults', () => {
    expect(parseOperatorFlags([])).toEqual({
      help: false,
      render: {
        routerImage: DEFAULT_ROUTER_IMAGE,
        clusterDomain: 'cluster.local',
        serviceAccountIssuer: 'https://kubernetes.default.svc.cluster.local',
      },
      workers: 2,
      healthProbeAddress: ':8081',
      metricsAddress: ':8080',
      logLevel: 'info',
    });
  });

  it('reads every flag', () => {
    const flags = parseOperatorFlags([
      '--kubeconfig',
      'kc.yaml',
      '--namespace',
      'tools',
      '--router-image',
      'r:1',
      '--service-account-issuer',
      'https://oidc.eks.example.test/id/ABC',
      '--leader-elect',
      '--leader-election-namespace',
      'ops',
      '--leader-election-id',
      'lease',
      '--leader-election-lease-duration',
      '4',
      '--leader-election-renew-deadline',
      '3',
      '--leader-election-retry-period',
      '0.5',
      '--health-probe-bind-address',
      '127.0.0.1:0',
      '--metrics-bind-address',
      '0',
      '--workers',
      '4',
      '--log-level',
      'debug',
    ]);
    expect(flags).toEqual({
      help: false,
      kubeconfig: 'kc.yaml',
      namespace: 'tools',
      render: {
        routerImage: 'r:1',
        clusterDomain: 'cluster.local',
        serviceAccountIssuer: 'https://oidc.eks.example.test/id/ABC',
      },
      leaderElection: {
        namespace: 'ops',
        name: 'lease',
        leaseDurationSeconds: 4,
        renewDeadlineMs: 3000,
        retryPeriodMs: 500,
      },
      workers: 4,
      healthProbeAddress: '127.0.0.1:0',
      logLevel: 'debug',
    });
  });

  it.each([
    [['--bogus'], /bogus/],
    [['--workers', '0'], /--workers must be a positive number/],
    [['--workers', '1.5'], /--workers must be a whole number/],
    [['--log-level', 'loud'], /--log-level/],
    [['--service-account-issuer', 'kubernetes'], /--service-account-issuer must be an http:\/\/ or https:\/\/ URL/],
    [['--metrics-bind-address', '8080'], /--metrics-bind-address: bind address "8080" is not host:port/],
    [
      ['--leader-elect', '--leader-election-lease-duration', 'x'],
      /--leader-election-lease-duration must be a positive number/,
    ],
  ])('rejects %j, naming the flag', (argv, message) => {
    expect(() => parseOperatorFlags(argv)).toThrow(message);
  });
});

describe('parseBindAddress', () => {
  it.each([
    [':8081', {host: undefined, port: 8081}],
    ['127.0.0.1:0', {host: '127.0.0.1', port: 0}],
    ['[::1]:9000', {host: '::1', port: 9000}],
  ])('%s', (address, expected) => {
    expect(parseBindAddress(address)).toEqual(expected);
  });
});

describe('operatorCommand', () => {
  it.each([
    [['--help'], 0],
    [['--no-such-flag'], 2],
    [['--workers', 'many'], 2],
  ])('%j exits with %i', async (argv, code) => {
    const writes: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    try {
      expect(await operatorCommand(argv)).toBe(code);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    expect(writes.join('')).toContain('Usage: kube-mcp-router operator');
  });

  it('fails with exit code 1 and a message when the kubeconfig cannot be read', async () => {
    const writes: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    try {
      expect(await operatorCommand(['--kubeconfig', 'no-such-kubeconfig.yaml'])).toBe(1);
    } finally {
      stderr.mockRestore();
    }
    expect(writes.join('')).toMatch(/Cannot load the kubeconfig no-such-kubeconfig.yaml/);
  });
});
