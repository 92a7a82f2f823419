import { toClusterDto, toReachabilityDto } from './cluster.dto';

describe('cluster DTOs', () => {
  it('shows a cluster with ISO times and a rounded heartbeat age, without internal fields', () => {
    const dto = toClusterDto({
      name: 'w1',
      labels: ['gpu'],
      apiUrl: 'https://w1.example.com',
      registryUrl: 'https://w1.example.com:9443',
      enabled: true,
      active: false,
      capacity: 10,
      projects: ['infra'],
      registeredAt: new Date('2025-01-01T00:00:00Z'),
      lastHeartbeatAt: new Date('2025-01-02T03:04:05.678Z'),
      heartbeatAgeSeconds: 31.23456,
    });
    expect(dto).toEqual({
      name: 'w1',
      labels: ['gpu'],
      apiUrl: 'https://w1.example.com',
      enabled: true,
      active: false,
      capacity: 10,
      projects: ['infra'],
      lastHeartbeatAt: '2025-01-02T03:04:05.678Z',
      heartbeatAgeSeconds: 31.235,
    });
  });

  it('shows a probe with its round trip to a tenth of a millisecond', () => {
    const checkedAt = new Date('2025-01-02T03:04:05Z');
    expect(toReachabilityDto({ from: 'a', to: 'b', reachable: true, rttMs: 2.345678, error: null, checkedAt })).toEqual({
      from: 'a',
      to: 'b',
      reachable: true,
      rttMs: 2.3,
      error: null,
      checkedAt: '2025-01-02T03:04:05.000Z',
    });
    expect(toReachabilityDto({ from: 'a', to: 'b', reachable: false, rttMs: null, error: 'x', checkedAt }).rttMs).toBeNull();
  });
});
