import { CandidateCluster, choosePlacement } from './placement.policy';

const cluster = (name: string, labels: string[], extra: Partial<CandidateCluster> = {}): CandidateCluster => ({
  name,
  labels,
  active: true,
  enabled: true,
  capacity: 10,
  projects: null,
  load: 0,
  ...extra,
});

const seed = [cluster('master', []), cluster('worker-gcp', ['my-worker', 'GCP']), cluster('worker-aws', ['AWS'])];
const everywhere = () => true;

describe('choosePlacement', () => {
  it('runs a job with a selector only on a cluster carrying all its labels', () => {
    expect(choosePlacement({ job: 'j', project: 'demo', requirement: { selector: ['GCP'] }, parents: [] }, seed, everywhere)).toMatchObject({ cluster: 'worker-gcp' });
    expect(
      choosePlacement({ job: 'j', project: 'demo', requirement: { selector: ['my-worker', 'GCP'] }, parents: [] }, seed, everywhere),
    ).toMatchObject({ cluster: 'worker-gcp' });
    expect(choosePlacement({ job: 'j', project: 'demo', requirement: { selector: ['GCP', 'AWS'] }, parents: [] }, seed, everywhere)).toEqual({
      error:
        "job 'j': no active, enabled cluster carries all of the labels [GCP, AWS]; clusters: master [] (active), worker-gcp [my-worker, GCP] (active), worker-aws [AWS] (active)",
      failure: 'no-matching-cluster',
    });
  });

  it('never places on an inactive or disabled cluster, and says so', () => {
    const clusters = [cluster('master', []), cluster('worker-gcp', ['GCP'], { active: false }), cluster('worker-x', ['GCP'], { enabled: false })];
    expect(choosePlacement({ job: 'j', project: 'demo', requirement: { selector: ['GCP'] }, parents: [] }, clusters, everywhere)).toEqual({
      error:
        "job 'j': no active, enabled cluster carries all of the labels [GCP]; clusters: master [] (active), worker-gcp [GCP] (inactive), worker-x [GCP] (active, disabled)",
      failure: 'no-matching-cluster',
    });
  });

  it('spreads jobs without a selector to the least loaded cluster, relative to capacity', () => {
    const clusters = [cluster('a', [], { load: 5 }), cluster('b', [], { load: 2 }), cluster('c', [], { load: 4, capacity: 40 })];
    expect(choosePlacement({ job: 'j', project: 'demo', parents: [] }, clusters, everywhere)).toMatchObject({ cluster: 'c' });
  });

  it('takes prefer when it qualifies, and ignores it when it does not', () => {
    const clusters = [cluster('a', ['GCP']), cluster('b', ['GCP'], { load: 9 }), cluster('c', [])];
    expect(choosePlacement({ job: 'j', project: 'demo', requirement: { selector: ['GCP'], prefer: 'b' }, parents: [] }, clusters, everywhere)).toMatchObject({ cluster: 'b' });
    expect(choosePlacement({ job: 'j', project: 'demo', requirement: { selector: ['GCP'], prefer: 'c' }, parents: [] }, clusters, everywhere)).toMatchObject({ cluster: 'a' });
  });

  it("keeps a child on a parent's cluster when it qualifies", () => {
    const clusters = [cluster('a', [], { load: 9 }), cluster('b', [])];
    expect(choosePlacement({ job: 'j', project: 'demo', parents: [{ name: 'p', cluster: 'a' }] }, clusters, everywhere)).toMatchObject({
      cluster: 'a',
      reason: 'stays with a parent on a',
    });
  });

  it('refuses a cluster that can neither fetch a parent output nor be sent it', () => {
    const clusters = [cluster('onprem', ['ONPREM']), cluster('cloud', ['CLOUD'])];
    const isolated = (from: string, to: string) => from === to;
    expect(choosePlacement({ job: 'j', project: 'demo', requirement: { selector: ['CLOUD'] }, parents: [{ name: 'build', cluster: 'onprem' }] }, clusters, isolated)).toEqual({
      error:
        "job 'j': no matching cluster can get its inputs: cloud cannot get the output of 'build' from onprem (neither onprem → cloud nor cloud → onprem is reachable)",
      failure: 'inputs-unreachable',
    });
    const oneWay = (from: string, to: string) => from === 'onprem' && to === 'cloud';
    expect(choosePlacement({ job: 'j', project: 'demo', requirement: { selector: ['CLOUD'] }, parents: [{ name: 'build', cluster: 'onprem' }] }, clusters, oneWay)).toMatchObject({
      cluster: 'cloud',
    });
  });

  it('with no cluster registered says so', () => {
    expect(choosePlacement({ job: 'j', project: 'demo', parents: [] }, [], everywhere)).toEqual({
      error: "job 'j': no active, enabled cluster; clusters: none registered",
      failure: 'no-matching-cluster',
    });
  });

  it('puts a job on a protected cluster only when it is of one of its projects, and says so when every match is protected', () => {
    const clusters = [cluster('secure', ['GPU'], { projects: ['infra', 'ml'] }), cluster('shared', ['GPU', 'SHARED'])];
    expect(choosePlacement({ job: 'train', project: 'ml', requirement: { selector: ['GPU'], prefer: 'secure' }, parents: [] }, clusters, everywhere)).toMatchObject({ cluster: 'secure' });
    expect(choosePlacement({ job: 'train', project: 'web', requirement: { selector: ['GPU'], prefer: 'secure' }, parents: [] }, clusters, everywhere)).toMatchObject({ cluster: 'shared' });
    expect(choosePlacement({ job: 'train', project: 'web', requirement: { selector: ['GPU'] }, parents: [] }, [clusters[0]], everywhere)).toEqual({
      error: "job 'train': every matching cluster is protected and does not run project 'web': secure runs only 'infra', 'ml'",
      failure: 'protected-cluster',
    });
  });
});
